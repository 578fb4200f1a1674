// The loop guard: new repetitions are banned, the prompt's own n-grams may be copied as often as the
// prompt holds them; and through the scheduler, a model stuck in a cycle ends instead of running to
// the length limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopGuard } from '../../../server/engine/loopGuard.js';
import { Scheduler, type SequenceRequest } from '../../../server/engine/scheduler.js';
import { EOS, FakeBackend, VOCAB } from './fakeBackend.js';

/** Runs `output` through the guard token by token; returns the banned ids before the last step. */
function bannedAfter(guard: LoopGuard, output: number[]): number[] {
  for (let i = 1; i <= output.length; i++) guard.record(output.slice(0, i));
  const logits = new Float32Array(VOCAB);
  guard.apply(logits, output);
  return [...logits.keys()].filter((id) => logits[id] === -Infinity);
}

test('an n-gram the output already holds and the prompt does not is banned', () => {
  assert.deepEqual(bannedAfter(new LoopGuard(3, [4, 5, 6]), [1, 2, 3, 1, 2]), [3]);
  assert.deepEqual(bannedAfter(new LoopGuard(3, [4, 5, 6]), [1, 2, 3, 1]), [], 'no (n-1)-gram seen before');
  assert.deepEqual(bannedAfter(new LoopGuard(4, [4, 5, 6]), [1, 2, 3, 1, 2]), [], 'a 4-gram guard waits longer');
});

test("the prompt's n-grams may be copied as often as the prompt holds them, not more", () => {
  const prompt = [1, 2, 3, 0, 1, 2, 3];
  assert.deepEqual(bannedAfter(new LoopGuard(3, prompt), [1, 2, 3, 1, 2]), [], 'second copy of 1,2,3 allowed');
  assert.deepEqual(bannedAfter(new LoopGuard(3, prompt), [1, 2, 3, 1, 2, 3, 1, 2]), [3], 'a third is not');
});

test('n-gram sizes below 2 are refused', () => {
  assert.throws(() => new LoopGuard(1, []), RangeError);
  assert.throws(() => new LoopGuard(2.5, []), RangeError);
});

/** A model stuck in a cycle: after token t it prefers next(t) (1 -> 2 -> 3 -> 1), EOS second. */
const cycling = (fed: number, row: Float32Array): void => {
  row[fed === 1 || fed === 2 ? fed + 1 : 1] = 5;
  row[EOS] = 4;
};

async function generate(promptIds: number[], loopGuard: number) {
  const scheduler = new Scheduler(new FakeBackend(cycling), {
    maxBatch: 1,
    maxQueue: 1,
    prefillChunk: 64,
    decode: (ids) => ids.join(' '),
    eosTokenIds: [EOS],
    contextLength: 256,
    speculationMaxBatch: 0,
  });
  const request: SequenceRequest = {
    promptIds,
    maxNewTokens: 40,
    sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, loopGuard },
    random: Math.random,
    stops: [],
    onDelta: () => {},
  };
  return scheduler.submit(request).result;
}

test('through the scheduler: off, a cycling model runs to the limit; on, it ends at the first repeat', async () => {
  const off = await generate([4, 5, 6], 0);
  assert.equal(off.finishReason, 'length');
  assert.equal(off.tokenIds.length, 40);
  const on = await generate([4, 5, 6], 3);
  assert.equal(on.finishReason, 'stop');
  assert.deepEqual(on.tokenIds, [1, 2, 3, 1, 2]);
});

test('through the scheduler: an answer that repeats itself is still copied whole', async () => {
  const on = await generate([6, 1, 2, 3, 1, 2, 3, 1, 2, 3], 3);
  assert.equal(on.finishReason, 'stop');
  assert.deepEqual(on.tokenIds, [1, 2, 3, 1, 2, 3, 1, 2, 3]);
});
