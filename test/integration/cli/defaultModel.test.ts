// The default model the repository ships (models/default), run the way `npm start` runs it: the built
// CLI, no --model. These checks guard what the model card promises about the folder and its use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MODEL = join(ROOT, 'models', 'default');
const BIN = join(ROOT, 'bin', 'aligner.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ALIGNER_MODEL: '' },
  });

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
}

test('models/default is the trained int8 fast-layout model, within the size the repository allows', () => {
  const aligner = JSON.parse(readFileSync(join(MODEL, 'aligner.json'), 'utf8'));
  assert.notEqual(aligner.testModel, true, 'the shipped model must not be a random-weight test model');
  assert.equal(aligner.layout, 'fast');
  assert.equal(aligner.dtype, 'int8');
  assert.equal(aligner.template, 'correction');
  const config = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.model_type, config.num_hidden_layers, config.hidden_size, config.vocab_size],
    ['llama', 30, 576, 49152],
    'the architecture MODEL_CARD.md describes (SmolLM2-135M-Instruct, fine-tuned)',
  );
  // the embedding / output layer is int8 too: that is what keeps a 49k vocabulary under the cap
  assert.equal(aligner.quantization.embedding.op, 'GatherBlockQuantized');
  assert.ok(folderBytes(MODEL) <= 150e6, `models/default is ${folderBytes(MODEL)} bytes`);
});

test('`aligner correct --sample` uses the default model: a greedy correction, the same twice, no test-model warning', () => {
  const first = run(['correct', '--sample', '--json']);
  assert.equal(first.status, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /random-weight/);
  const a = JSON.parse(first.stdout);
  assert.equal(a.model, 'default');
  assert.ok(a.text.trim().length > 0, 'a non-empty correction');
  assert.ok(a.usage.completionTokens > 0);
  assert.equal(a.finishReason, 'stop', 'the fine-tuned model ends its correction with EOS');
  const second = JSON.parse(run(['correct', '--sample', '--json']).stdout);
  assert.deepEqual(second.tokenIds, a.tokenIds, 'greedy decoding is deterministic');
});
