// Speculative sampling keeps the sampling distribution: many seeded samples through the scheduler
// with prompt-lookup speculation on, checked against the sampler's own nucleus distribution with a
// chi-square test. A fake backend makes each position's logits depend on the token fed there, so the
// drafts verified in one pass are checked against distributions conditioned on the draft itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../../server/engine/scheduler.js';
import { nucleus, type SamplingConfig } from '../../../server/engine/sampler.js';
import type { CacheSlot, KvBackend } from '../../../server/engine/kv/backend.js';
import { seededRandom } from '../../../server/util/rng.js';

const VOCAB = 8;
const EOS = 7;
const BLOCKED = -1e9;
/** Tokens 1..5 on a cycle; after token t, token t + d (mod the cycle) has probability P_STEP[d]. */
const CYCLE = 5;
const P_STEP = [0.05, 0.5, 0.2, 0.15, 0.1];
const ahead = (from: number, to: number) => (((to - from) % CYCLE) + CYCLE) % CYCLE;
function logitsAfter(token: number): number[] {
  const out = Array<number>(VOCAB).fill(BLOCKED);
  for (let t = 1; t <= CYCLE; t++) out[t] = Math.log(P_STEP[ahead(token, t)]!);
  return out;
}

/** A multi-token (fast-layout-like) backend whose logits follow only the token fed. */
class MarkovBackend implements KvBackend {
  readonly layout = 'fast' as const;
  readonly vocabSize = VOCAB;
  readonly multiToken = true;
  private nextId = 1;
  private batch: CacheSlot[] = [];

  createSlot(): CacheSlot {
    return { id: this.nextId++, length: 0 };
  }
  private logits(tokens: number[]): Float32Array {
    const out = new Float32Array(tokens.length * VOCAB);
    tokens.forEach((t, i) => out.set(logitsAfter(t), i * VOCAB));
    return out;
  }
  async extend(slot: CacheSlot, ids: number[]): Promise<Float32Array> {
    slot.length += ids.length;
    return this.logits(ids);
  }
  setBatch(slots: CacheSlot[]): void {
    this.batch = slots;
  }
  async decode(tokens: number[][]): Promise<Float32Array> {
    this.batch.forEach((slot, r) => (slot.length += tokens[r]!.length));
    return this.logits(tokens.flat());
  }
  truncate(slot: CacheSlot, length: number): void {
    slot.length = length;
  }
  release(): void {}
  async close(): Promise<void> {}
}

/** Upper 0.1% points of the chi-square distribution by degrees of freedom. */
const CHI2_999 = [NaN, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59];

test('speculative sampling keeps the nucleus distribution (chi-square over seeded samples)', async () => {
  const sampling: SamplingConfig = { temperature: 1, topP: 0.9, topK: 0, repetitionPenalty: 1, loopGuard: 0 };
  const scheduler = new Scheduler(new MarkovBackend(), {
    maxBatch: 4,
    maxQueue: 8,
    prefillChunk: 16,
    decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
    eosTokenIds: [EOS],
    contextLength: 4096,
    speculationMaxBatch: 4,
  });
  // The prompt walks the cycle, so the drafter proposes the likeliest next tokens and half get accepted.
  const promptIds = Array.from({ length: 40 }, (_, i) => 1 + (i % CYCLE));
  const counts = new Map<number, number>(); // by steps ahead of the previous token
  let drafted = 0;
  let accepted = 0;
  for (let seed = 0; seed < 600; seed += 4) {
    const results = await Promise.all(
      [0, 1, 2, 3].map(
        (k) =>
          scheduler.submit({
            promptIds,
            maxNewTokens: 12,
            sampling,
            random: seededRandom(1000 + seed + k),
            stops: [],
            onDelta: () => {},
          }).result,
      ),
    );
    for (const r of results) {
      drafted += r.draftTokens;
      accepted += r.acceptedDraftTokens;
      let prev = promptIds.at(-1)!;
      for (const t of r.tokenIds) {
        assert.ok(t >= 1 && t <= CYCLE, `token ${t} is one of the cycle's`);
        const d = ahead(prev, t);
        counts.set(d, (counts.get(d) ?? 0) + 1);
        prev = t;
      }
    }
  }
  assert.ok(drafted > 2000, `drafts were proposed (${drafted})`);
  assert.ok(accepted > 0.2 * drafted && accepted < 0.8 * drafted, `some accepted, some not (${accepted}/${drafted})`);

  // The sampler's own distribution for the next token (the same, by steps ahead, after any token).
  const { ids, probs } = nucleus(Float32Array.from(logitsAfter(CYCLE)), sampling);
  const expected = new Map(ids.map((t, j) => [ahead(CYCLE, t), probs[j]!]));
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  const outside = [...counts.keys()].filter((d) => !expected.has(d));
  assert.deepEqual(outside, [], 'every sample is within the nucleus');
  let chi2 = 0;
  for (const [d, p] of expected) chi2 += ((counts.get(d) ?? 0) - n * p) ** 2 / (n * p);
  const df = expected.size - 1;
  assert.equal(n, 600 * 12);
  assert.ok(chi2 < CHI2_999[df]!, `chi-square ${chi2.toFixed(2)} (df ${df}, n ${n}) against the nucleus`);
});
