// Scoring shares the scheduler with decoding: a long score request must run one chunk per step,
// like prefill, so decoding rows keep streaming and a cancel lands within a chunk. A fake KV backend
// records the order of the model calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../../server/engine/scheduler.js';
import type { CacheSlot, KvBackend } from '../../../server/engine/kv/backend.js';

const VOCAB = 8;
const EOS = 7;

/** Every logit row favours token 1 (never EOS), so sequences run to max_new_tokens. */
class RecordingBackend implements KvBackend {
  readonly layout = 'optimum' as const;
  readonly vocabSize = VOCAB;
  readonly multiToken = false;
  readonly calls: string[] = [];
  private nextId = 1;
  private batch: CacheSlot[] = [];

  createSlot(): CacheSlot {
    return { id: this.nextId++, length: 0 };
  }
  private logits(rows: number): Float32Array {
    const out = new Float32Array(rows * VOCAB);
    for (let r = 0; r < rows; r++) out[r * VOCAB + 1] = 5;
    return out;
  }
  async extend(slot: CacheSlot, ids: number[]): Promise<Float32Array> {
    this.calls.push(`extend:${slot.id}`);
    slot.length += ids.length;
    return this.logits(ids.length);
  }
  setBatch(slots: CacheSlot[]): void {
    this.batch = slots;
  }
  async decode(tokens: number[][]): Promise<Float32Array> {
    this.calls.push('decode');
    for (const slot of this.batch) slot.length += 1;
    return this.logits(tokens.length);
  }
  truncate(): void {}
  release(): void {}
  async close(): Promise<void> {}
}

test('a long score request is scored one chunk per step, between decode steps', async () => {
  const backend = new RecordingBackend();
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

  const scoreSlot = 'extend:2'; // slot 1 is the decoding request's prefill
  const scoreCalls = backend.calls.map((c, i) => (c === scoreSlot ? i : -1)).filter((i) => i >= 0);
  assert.equal(scoreCalls.length, 25);
  const first = scoreCalls[0]!;
  const last = scoreCalls.at(-1)!;
  const decodesBetween = backend.calls.slice(first, last).filter((c) => c === 'decode').length;
  // One decode step between consecutive chunks: the decoding row never waits for the whole score.
  assert.ok(decodesBetween >= 24, `decode steps while scoring: ${decodesBetween} (the score ran back to back)`);
  const r = await decoding.result;
  assert.equal(r.tokenIds.length, 60);
});
