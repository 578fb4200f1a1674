// The engine worker dies or hangs, with the real worker thread and a real test model: calls in flight
// and new calls fail with a clear error at once (never hang), health says so, and the host restarts
// the worker with its models, or goes down for good and says so. Also: health.running returns to 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { EngineHost } from '../../../server/engine/host.js';
import type { EngineHostOptions } from '../../../server/engine/host.js';
import { EngineError } from '../../../server/engine/api.js';
import { ErrorCodes } from '../../../server/protocol/index.js';
import { testModel } from '../../helpers/testModels.js';

const hosts: EngineHost[] = [];
after(async () => Promise.all(hosts.map((h) => h.close())));

async function host(opts: EngineHostOptions = {}, load = true): Promise<EngineHost> {
  const h = new EngineHost({ threads: 1, ...opts });
  hosts.push(h);
  if (load) await h.loadModel({ path: await testModel('llama') });
  return h;
}

/**
 * Crashes the engine's worker thread the way a bug would: a message its handler cannot read throws an
 * uncaught exception in the worker, which exits with code 1. (Worker.terminate() from outside can land
 * inside onnxruntime's synchronous run, whose native code then aborts the whole process: a crash of the
 * test itself, not of the engine. The worker reads messages only between runs.)
 */
const killWorker = (h: EngineHost) => {
  const worker = (h as unknown as { worker: Worker }).worker;
  // not events.once: it rejects on the 'error' event the crash emits first
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  worker.postMessage(null);
  return exited;
};

const request = (id: string, maxNewTokens = 24) => ({
  requestId: id,
  question: 'How should my app store passwords?',
  answer: 'In plain text, it is simplest.',
  generation: { maxNewTokens, temperature: 0 },
});

/** Rejects if `p` takes longer than `ms`: a call to a dead engine must never hang. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the worker dies mid-correction: the call fails clearly, health says so, a new worker serves the same', async () => {
  const h = await host();
  const before = await h.correct(request('before'));
  let killed = false;
  const inFlight = h.correct(request('in-flight', 400), {
    onDelta: () => {
      if (!killed) void killWorker(h);
      killed = true;
    },
  });
  await assert.rejects(
    within(inFlight, 10_000, 'the in-flight correction'),
    (e: EngineError) =>
      e.code === ErrorCodes.InternalError && /engine (stopped unexpectedly|crashed).*not completed/.test(e.message),
  );
  const health = h.health();
  assert.notEqual(health.status, 'ready', 'health must not say ready while the engine is gone');
  assert.match(health.message ?? '', /engine (stopped unexpectedly|crashed)/);
  // Meanwhile new calls fail at once instead of being posted to a dead worker.
  await assert.rejects(within(h.correct(request('meanwhile')), 5_000, 'a call while restarting'), /restarting/);
  await until(() => h.health().status === 'ready', 60_000, 'the restarted engine');
  const afterRestart = await within(h.correct(request('after')), 30_000, 'a call after the restart');
  assert.deepEqual(afterRestart.tokenIds, before.tokenIds, 'the same model answers the same');
});

test('a worker that keeps dying: the engine goes down for good, says why, and every call fails at once', async () => {
  const h = await host({ maxRestarts: 0 });
  const fatal: string[] = [];
  h.onFatal((m) => fatal.push(m));
  await killWorker(h);
  await until(() => fatal.length > 0, 5_000, 'onFatal');
  assert.match(fatal[0]!, /engine (stopped unexpectedly|crashed)/);
  const health = h.health();
  assert.equal(health.status, 'error');
  assert.equal(health.message, fatal[0]);
  await assert.rejects(within(h.correct(request('dead')), 2_000, 'a correction'), (e: EngineError) =>
    /the engine is not running/.test(e.message),
  );
  await assert.rejects(
    within(h.score({ question: 'Q', answer: 'A', continuation: 'C' }), 2_000, 'a score'),
    /not running/,
  );
  await assert.rejects(within(h.loadModel({ path: await testModel('llama') }), 2_000, 'a load'), /not running/);
});

test('a model load that takes too long fails with a clear error; the stuck worker is replaced', async () => {
  const h = await host({ loadTimeoutMs: 1 }, false);
  await assert.rejects(
    within(h.loadModel({ path: await testModel('llama') }), 10_000, 'the load'),
    (e: EngineError) => e.code === ErrorCodes.ModelLoadFailed && /took longer than/.test(e.message),
  );
  await until(() => h.health().status !== 'loading', 30_000, 'the replaced worker');
  assert.equal(h.health().status, 'error');
  assert.match(h.health().message ?? '', /took longer than/);
});

test('a FIFO in a model folder fails the load at once instead of blocking the engine forever', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-fifo-model-'));
  cpSync(await testModel('llama'), dir, { recursive: true });
  rmSync(join(dir, 'config.json'));
  execFileSync('mkfifo', [join(dir, 'config.json')]);
  const h = await host({}, false);
  await assert.rejects(
    within(h.loadModel({ path: dir }), 10_000, 'loading a folder with a FIFO'),
    (e: EngineError) => e.code === ErrorCodes.ModelLoadFailed && /config\.json is not a regular file/.test(e.message),
  );
  await h.loadModel({ path: await testModel('llama') }); // the engine still works
});

test('health.running returns to 0 once the server is idle, after a completion and after a cancel', async () => {
  const h = await host();
  await h.correct(request('r1'));
  assert.equal(h.health().running, 0);
  assert.equal(h.health().queueLength, 0);
  const ac = new AbortController();
  const r = await h.correct(request('r2', 400), { signal: ac.signal, onDelta: () => ac.abort() });
  assert.equal(r.finishReason, 'cancelled');
  await until(() => h.health().running === 0, 5_000, 'running to return to 0 after a cancel');
});
