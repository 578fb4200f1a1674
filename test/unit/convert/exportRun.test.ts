// `aligner export`: a run's final checkpoint through the converter. The default is the shipped format
// (SHIPPED_FORMAT), the folder appears whole or not at all, and what must not be overwritten is not;
// with --progress-json the result or the error is one JSON line, as export jobs read it.
// (Greedy parity with torch on runs the trainer wrote: server/trainer/tests/test_export.py.)
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerExportCommand } from '../../../server/cli/exportCommand.js';
import { exportRun } from '../../../server/convert/exportRun.js';
import { SHIPPED_FORMAT } from '../../../server/convert/shippedFormat.js';
import { readModelFolder } from '../../../server/engine/modelFolder.js';
import { writeTestModel } from '../../../server/testmodel/writeTestModel.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-export-'));
after(() => rmSync(root, { recursive: true, force: true }));
const run = join(root, 'run');
const readJson = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

/** Runs `aligner export ARGS` in-process; its stdout and exit code. */
async function cli(args: string[]): Promise<{ stdout: string; exitCode: number }> {
  const program = new Command('aligner').exitOverride();
  registerExportCommand(program);
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  let stdout = '';
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await program.parseAsync(['export', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout, exitCode };
}

describe('aligner export', () => {
  before(async () => {
    // The run as the trainer leaves it: RUN/final is a Hugging Face folder with aligner.json.
    await writeTestModel({ type: 'llama', outDir: join(run, 'final'), seed: 3 });
  });

  it('writes the fast layout in the shipped format by default, keeping the run metadata', async () => {
    const out = join(root, 'models', 'default');
    const s = await exportRun({ run, out });
    assert.equal(s.out, out);
    assert.deepEqual([s.layout, s.dtype], ['fast', SHIPPED_FORMAT.dtype]);
    const meta = readJson(out, 'aligner.json');
    assert.equal(meta.layout, 'fast');
    assert.equal(meta.dtype, SHIPPED_FORMAT.dtype);
    assert.equal(meta.quantization.blockSize, SHIPPED_FORMAT.blockSize);
    assert.deepEqual(meta.generation, { maxNewTokens: 128 }, "the run's generation defaults");
    assert.equal(readModelFolder(out).template, 'correction');
    assert.ok(readFileSync(join(out, 'tokenizer.json')).equals(readFileSync(join(run, 'final', 'tokenizer.json'))));
    assert.deepEqual(readdirSync(join(root, 'models')), ['default'], 'no staging folder is left');
  });

  it('replaces an earlier export with the dtype asked for', async () => {
    const out = join(root, 'models', 'again');
    await exportRun({ run, out });
    await exportRun({ run, out, dtype: 'fp32' });
    const meta = readJson(out, 'aligner.json');
    assert.equal(meta.dtype, 'fp32');
    assert.equal(meta.quantization, undefined);
  });

  it('refuses a run without a final checkpoint, an --out in the run, and a folder that is not a model', async () => {
    const unfinished = join(root, 'unfinished');
    mkdirSync(join(unfinished, 'checkpoints', 'checkpoint-4'), { recursive: true });
    await assert.rejects(exportRun({ run: unfinished, out: join(root, 'm1') }), /has no final checkpoint/);
    assert.equal(existsSync(join(root, 'm1')), false);
    await assert.rejects(exportRun({ run, out: join(run, 'model') }), /must be outside the run folder/);
    await assert.rejects(exportRun({ run, out: root }), /must be outside the run folder/);
    const notes = join(root, 'notes');
    mkdirSync(notes);
    writeFileSync(join(notes, 'todo.txt'), 'keep me');
    await assert.rejects(exportRun({ run, out: notes }), /holds files but no model/);
    assert.equal(readFileSync(join(notes, 'todo.txt'), 'utf8'), 'keep me');
  });

  it('leaves neither the model nor its staging folder when the conversion fails', async () => {
    // A config that does not fit the weights: found while the graph is built, after writing began.
    const broken = join(root, 'broken');
    cpSync(join(run, 'final'), join(broken, 'final'), { recursive: true });
    const config = readJson(join(broken, 'final'), 'config.json');
    writeFileSync(
      join(broken, 'final', 'config.json'),
      JSON.stringify({ ...config, intermediate_size: config.intermediate_size + 8 }),
    );
    const out = join(root, 'failed', 'model');
    await assert.rejects(exportRun({ run: broken, out }), /config\.json implies/);
    assert.deepEqual(readdirSync(join(root, 'failed')), []);
  });

  it('with --progress-json prints the done event, or an error event and exits 1', async () => {
    const out = join(root, 'models', 'cli');
    const ok = await cli(['--run', run, '--out', out, '--dtype', 'int4', '--block-size', '32', '--progress-json']);
    assert.equal(ok.exitCode, 0);
    const done = JSON.parse(ok.stdout);
    assert.deepEqual(
      [done.event, done.path, done.layout, done.dtype, done.block_size, done.model_type],
      ['done', out, 'fast', 'int4', 32, 'llama'],
    );
    assert.ok(done.onnx_bytes > 0 && done.parameters > 0 && typeof done.seconds === 'number');
    assert.equal(readJson(out, 'aligner.json').quantization.bits, 4);

    const failed = await cli(['--run', join(root, 'nowhere'), '--out', join(root, 'm2'), '--progress-json']);
    assert.equal(failed.exitCode, 1);
    const error = JSON.parse(failed.stdout);
    assert.equal(error.event, 'error');
    assert.match(error.message, /has no final checkpoint/);

    const human = await cli(['--run', run, '--out', join(root, 'models', 'human'), '--dtype', 'fp16']);
    assert.match(human.stdout, /^wrote llama fast fp16 model to /);
  });
});
