// A fake KV backend for scheduler tests: no model, logits chosen per fed token, and a log of every
// call (prefill chunks, batch changes, decode steps, releases) for tests that check their order.
import type { CacheSlot, KvBackend } from '../../../server/engine/kv/backend.js';

export const VOCAB = 8;
export const EOS = 7;

/** The logits a fed token yields; by default every row favours token 1 (never EOS). */
export type NextLogits = (fed: number, row: Float32Array) => void;
const favourOne: NextLogits = (_fed, row) => {
  row[1] = 5;
};

export class FakeBackend implements KvBackend {
  readonly layout = 'optimum' as const;
  readonly vocabSize = VOCAB;
  readonly multiToken = false;
  /** `extend:<slot>:<tokens>`, `batch:<slots>`, `decode`, `release:<slot>`, in call order. */
  readonly calls: string[] = [];
  readonly batchSizes: number[] = [];
  readonly released: number[] = [];
  /** Rows of logits each extend() returned, per slot. */
  readonly logitsAsked: { slot: number; rows: number }[] = [];
  private nextId = 1;
  private batch: CacheSlot[] = [];

  constructor(private readonly next: NextLogits = favourOne) {}

  createSlot(): CacheSlot {
    return { id: this.nextId++, length: 0 };
  }
  private logits(fed: number[]): Float32Array {
    const out = new Float32Array(fed.length * VOCAB);
    fed.forEach((t, r) => this.next(t, out.subarray(r * VOCAB, (r + 1) * VOCAB)));
    return out;
  }
  async extend(slot: CacheSlot, ids: number[], logitsFrom = 0): Promise<Float32Array> {
    this.calls.push(`extend:${slot.id}:${ids.length}`);
    slot.length += ids.length;
    // Like a fast graph with logits_start: the positions asked for, at least the last one.
    const rows = ids.slice(Math.min(logitsFrom, ids.length - 1));
    this.logitsAsked.push({ slot: slot.id, rows: rows.length });
    return this.logits(rows);
  }
  setBatch(slots: CacheSlot[]): void {
    this.batch = slots;
    this.calls.push(`batch:${slots.map((s) => s.id).join(',')}`);
  }
  async decode(tokens: number[][]): Promise<Float32Array> {
    this.calls.push('decode');
    this.batchSizes.push(tokens.length);
    for (const slot of this.batch) slot.length += 1;
    return this.logits(tokens.map((row) => row[0]!));
  }
  truncate(): void {}
  release(slot: CacheSlot): void {
    this.released.push(slot.id);
    this.calls.push(`release:${slot.id}`);
  }
  async close(): Promise<void> {}
}
