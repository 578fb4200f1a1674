// The `aligner` command as users run it: the built CLI in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectAligner } from '../../../server/transport/client.js';
import { readTokenFile } from '../../../server/transport/auth.js';
import { testModel } from '../../helpers/testModels.js';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'aligner.js');
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, timeout: 60_000 });

test('make-test-model writes a model that `correct` runs, streaming or as JSON', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'aligner-cli-')), 'qwen');
  const made = run(['make-test-model', '--type', 'qwen2', '--out', dir]);
  assert.equal(made.status, 0, made.stderr);
  assert.match(made.stdout, /wrote qwen2 test model/);

  const json = run(['correct', '--model', dir, '--question', 'Q', '--answer', 'A', '--json', '--max-new-tokens', '12']);
  assert.equal(json.status, 0, json.stderr);
  const result = JSON.parse(json.stdout);
  assert.equal(result.usage.completionTokens, result.tokenIds.length);
  assert.ok(result.tokenIds.length > 0 && typeof result.text === 'string');

  const streamed = run(['correct', '--model', dir, '--question', 'Q', '--answer', '-', '--max-new-tokens', '12'], 'A');
  assert.equal(streamed.status, 0, streamed.stderr);
  assert.equal(streamed.stdout, result.text + '\n', 'streamed text equals the JSON text (greedy)');
  assert.match(streamed.stderr, /random-weight test model/);
});

test('bad flags and bad model folders get one clear line and a non-zero exit', async () => {
  const r1 = run(['correct', '--model', '/nonexistent', '-q', 'Q', '-a', 'A']);
  assert.notEqual(r1.status, 0);
  assert.match(r1.stderr, /does not exist/);
  const r2 = run(['correct', '--model', await testModel('llama'), '-q', 'Q', '-a', 'A', '--temperature', 'hot']);
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /not a number/);
  const r3 = run(['correct', '--model', await testModel('llama'), '-q', 'Q']);
  assert.notEqual(r3.status, 0);
  assert.match(r3.stderr, /give --question and --answer/);
});

test('serve announces where it listens, writes a 0600 token file, serves a correction, stops on SIGTERM', async () => {
  const state = mkdtempSync(join(tmpdir(), 'aligner-serve-'));
  const tokenFile = join(state, 'server.token');
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--model', await testModel('llama'), '--port', '0', '--token-file', tokenFile],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const lines = createInterface({ input: child.stdout });
    const events: Record<string, Record<string, unknown>> = {};
    for await (const line of lines) {
      const event = JSON.parse(line);
      events[event.event] = event;
      if (event.event === 'ready' || event.event === 'model-error') break;
    }
    assert.ok(events.ready, `server did not become ready: ${stderr}`);
    const listening = events.listening!;
    assert.match(String(listening.url), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = await readTokenFile(tokenFile);
    assert.ok(!stderr.includes(token), 'the token is never logged');
    const client = await connectAligner(String(listening.wsUrl), token);
    try {
      const r = await client.correct({
        requestId: 'cli-1',
        question: 'Q',
        answer: 'A',
        generation: { maxNewTokens: 8, temperature: 0 },
      });
      assert.ok(r.usage.completionTokens > 0);
    } finally {
      await client.close();
    }
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
  }
});
