// Scoring shares the scheduler with decoding: a long score request must run one chunk per step,
// like prefill, so decoding rows keep streaming and a cancel lands within a chunk. A fake KV backend
// records the order of the model calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../../server/engine/scheduler.js';
import { EOS, FakeBackend } from './fakeBackend.js';

test('a long score request is scored one chunk per step, between decode steps', async () => {
  const backend = new FakeBackend();
  const scheduler = new Scheduler(backend, {
    maxBatch: 4,
    maxQueue: 4,
    prefillChunk: 8,
    decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
    eosTokenIds: [EOS],
    contextLength: 4096,
    speculationMaxBatch: 0,
  });
  const deltas: number[] = [];
  const decoding = scheduler.submit({
    promptIds: [1, 2, 3],
    maxNewTokens: 60,
    sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, loopGuard: 0 },
    random: Math.random,
    stops: [],
    onDelta: (_d, n) => deltas.push(n),
  });
  // 200 tokens in chunks of 8: 25 model calls for the score alone.
  const ids = Array.from({ length: 200 }, (_, i) => i % 6);
  const scored = await scheduler.score(ids, 100);
  assert.equal(scored.tokens, 100);
  assert.ok(Number.isFinite(scored.logprob) && scored.logprob < 0);

  const scoreSlot = 'extend:2:'; // slot 1 is the decoding request's prefill
  const scoreCalls = backend.calls.map((c, i) => (c.startsWith(scoreSlot) ? i : -1)).filter((i) => i >= 0);
  assert.equal(scoreCalls.length, 25);
  const first = scoreCalls[0]!;
  const last = scoreCalls.at(-1)!;
  const decodesBetween = backend.calls.slice(first, last).filter((c) => c === 'decode').length;
  // One decode step between consecutive chunks: the decoding row never waits for the whole score.
  assert.ok(decodesBetween >= 24, `decode steps while scoring: ${decodesBetween} (the score ran back to back)`);
  const r = await decoding.result;
  assert.equal(r.tokenIds.length, 60);
});

test('a score asks the backend for the logits it needs only, and sums the right positions', async () => {
  // Logits depend on the fed token, so a position read at the wrong offset changes the sum.
  const next = (fed: number, row: Float32Array) => {
    row[(fed + 1) % 8] = 3;
    row[(fed * 3) % 8] += 1.5;
  };
  const backend = new FakeBackend(next);
  const scheduler = new Scheduler(backend, {
    maxBatch: 4,
    maxQueue: 4,
    prefillChunk: 8,
    decode: () => '',
    eosTokenIds: [EOS],
    contextLength: 4096,
    speculationMaxBatch: 0,
  });
  const ids = Array.from({ length: 30 }, (_, i) => (i * 5 + 2) % 7);
  const from = 13; // inside the second chunk: its first positions and the whole first chunk are skipped
  let expected = 0;
  for (let t = from; t < ids.length; t++) {
    const row = new Float32Array(8);
    next(ids[t - 1]!, row);
    const max = Math.max(...row);
    const logSum = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    expected += row[ids[t]!]! - max - logSum;
  }
  const scored = await scheduler.score(ids, from);
  assert.equal(scored.tokens, ids.length - from);
  assert.ok(Math.abs(scored.logprob - expected) < 1e-4, `${scored.logprob} vs ${expected}`);
  const asked = backend.logitsAsked.filter((a) => a.slot === 1);
  assert.deepEqual(
    asked.map((a) => a.rows),
    [1, 4, 8, 6],
    'chunk 1: none needed (the last row comes anyway), chunk 2: positions 12-15, then all',
  );
});
