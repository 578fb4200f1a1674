// The scheduler with a fake KV backend that records every model call: admission up to max_batch,
// prompts prefilled in chunks between decode steps, cancel (queued and running), the overload
// error, and finished rows leaving the batch at once. (Scoring: schedulerScore.test.ts; speculative
// sampling: speculativeSampling.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type SequenceRequest } from '../../../server/engine/scheduler.js';
import { EngineError } from '../../../server/engine/api.js';
import { ErrorCodes } from '../../../server/protocol/index.js';
import { EOS, FakeBackend } from './fakeBackend.js';

function setup(opts: { maxBatch?: number; maxQueue?: number; prefillChunk?: number } = {}) {
  const backend = new FakeBackend();
  const scheduler = new Scheduler(backend, {
    maxBatch: opts.maxBatch ?? 4,
    maxQueue: opts.maxQueue ?? 8,
    prefillChunk: opts.prefillChunk ?? 64,
    decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
    eosTokenIds: [EOS],
    contextLength: 4096,
    speculationMaxBatch: 0,
  });
  return { backend, scheduler };
}

const request = (promptLength: number, maxNewTokens: number): SequenceRequest => ({
  promptIds: Array.from({ length: promptLength }, (_, i) => 2 + (i % 4)),
  maxNewTokens,
  sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, loopGuard: 0 },
  random: Math.random,
  stops: [],
  onDelta: () => {},
});

test('admission: at most max_batch rows decode together; the next request starts when a row leaves', async () => {
  const { backend, scheduler } = setup({ maxBatch: 2 });
  const handles = [request(3, 5), request(3, 20), request(3, 5)].map((r) => scheduler.submit(r));
  const results = await Promise.all(handles.map((h) => h.result));
  assert.deepEqual(
    results.map((r) => r.tokenIds.length),
    [5, 20, 5],
  );
  assert.ok(Math.max(...backend.batchSizes) <= 2, `batch sizes ${backend.batchSizes}`);
  // The third request (slot 3) is prefilled only after the first (slot 1) has left.
  assert.ok(backend.calls.indexOf('release:1') < backend.calls.indexOf('extend:3:3'), backend.calls.join(' '));
});

test('chunked prefill: a long prompt goes in chunks, with a decode step for the running row between them', async () => {
  const { backend, scheduler } = setup({ prefillChunk: 8 });
  const running = scheduler.submit(request(3, 30));
  await new Promise((r) => setImmediate(r));
  const long = scheduler.submit(request(20, 2));
  await Promise.all([running.result, long.result]);
  const chunks = backend.calls.filter((c) => c.startsWith('extend:2:'));
  assert.deepEqual(chunks, ['extend:2:8', 'extend:2:8', 'extend:2:4']);
  const first = backend.calls.indexOf('extend:2:8');
  const last = backend.calls.indexOf('extend:2:4');
  const decodes = backend.calls.slice(first, last).filter((c) => c === 'decode').length;
  assert.ok(decodes >= 2, `decode steps between the chunks: ${decodes}`);
});

test('cancel: a running row stops within a step and leaves; a queued one never reaches the model', async () => {
  const { backend, scheduler } = setup({ maxBatch: 1 });
  const running = scheduler.submit(request(3, 1000));
  const queued = scheduler.submit(request(3, 5));
  queued.cancel();
  await new Promise((r) => setImmediate(r));
  running.cancel();
  const [a, b] = await Promise.all([running.result, queued.result]);
  assert.equal(a.finishReason, 'cancelled');
  assert.ok(a.tokenIds.length < 1000);
  assert.equal(b.finishReason, 'cancelled');
  assert.deepEqual(b.tokenIds, []);
  assert.ok(!backend.calls.some((c) => c.startsWith('extend:2:')), 'the queued request was never prefilled');
  assert.ok(backend.released.includes(1), 'the cancelled row freed its cache');
  // The scheduler keeps serving.
  assert.equal((await scheduler.submit(request(3, 4)).result).tokenIds.length, 4);
});

test('overload: a full queue refuses with the typed Overloaded error', async () => {
  const { scheduler } = setup({ maxBatch: 1, maxQueue: 1 });
  const running = scheduler.submit(request(3, 1000));
  await new Promise((r) => setImmediate(r));
  const queued = scheduler.submit(request(3, 5));
  assert.throws(
    () => scheduler.submit(request(3, 5)),
    (e: unknown) => e instanceof EngineError && e.code === ErrorCodes.Overloaded,
  );
  running.cancel();
  queued.cancel();
  await Promise.all([running.result, queued.result]);
});

test('finished rows leave the batch at once and free their cache', async () => {
  const { backend, scheduler } = setup({ maxBatch: 4 });
  const short = scheduler.submit(request(3, 3));
  const long = scheduler.submit(request(3, 12));
  const [a, b] = await Promise.all([short.result, long.result]);
  assert.equal(a.finishReason, 'length');
  assert.equal(a.tokenIds.length, 3);
  assert.equal(b.tokenIds.length, 12);
  const batchAfter = backend.calls.indexOf('batch:2');
  assert.ok(batchAfter > 0, `the batch shrank to the long row: ${backend.calls.join(' ')}`);
  assert.ok(backend.calls.indexOf('release:1') > 0, 'the short row released its slot');
  // After the short row left, every decode step is one row wide.
  const widthAfter = backend.batchSizes.slice(backend.calls.slice(0, batchAfter).filter((c) => c === 'decode').length);
  assert.ok(
    widthAfter.every((w) => w === 1),
    `decode widths after the short row left: ${widthAfter}`,
  );
});
