// The loop guard: new repetitions are banned, the prompt's own n-grams may be copied as often as the
// prompt holds them; and through the scheduler, a model stuck in a cycle ends instead of running to
// the length limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopGuard } from '../../../server/engine/loopGuard.js';
import { Scheduler, type SequenceRequest } from '../../../server/engine/scheduler.js';
import type { CacheSlot, KvBackend } from '../../../server/engine/kv/backend.js';

const VOCAB = 8;
const EOS = 7;

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
class CyclingBackend implements KvBackend {
  readonly layout = 'optimum' as const;
  readonly vocabSize = VOCAB;
  readonly multiToken = false;
  private nextId = 1;
  private batch: CacheSlot[] = [];

  private rows(fed: number[]): Float32Array {
    const out = new Float32Array(fed.length * VOCAB);
    fed.forEach((t, r) => {
      out[r * VOCAB + (t === 1 || t === 2 ? t + 1 : 1)] = 5;
      out[r * VOCAB + EOS] = 4;
    });
    return out;
  }
  createSlot(): CacheSlot {
    return { id: this.nextId++, length: 0 };
  }
  async extend(slot: CacheSlot, ids: number[]): Promise<Float32Array> {
    slot.length += ids.length;
    return this.rows(ids);
  }
  setBatch(slots: CacheSlot[]): void {
    this.batch = slots;
  }
  async decode(tokens: number[][]): Promise<Float32Array> {
    for (const slot of this.batch) slot.length += 1;
    return this.rows(tokens.map((row) => row[0]!));
  }
  truncate(): void {}
  release(): void {}
  async close(): Promise<void> {}
}

async function generate(promptIds: number[], loopGuard: number) {
  const scheduler = new Scheduler(new CyclingBackend(), {
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
