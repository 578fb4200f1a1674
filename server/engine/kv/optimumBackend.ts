// KV backend for Optimum-layout graphs. While the batch is unchanged, each step's `present` is fed
// straight back as `past`; rows are re-packed (left-padded) only when the batch changes.
import type { LayerCache, OnnxDecoder } from '../onnxDecoder.js';
import type { CacheSlot, KvBackend } from './backend.js';
import { packRows } from './optimumPacking.js';
import type { CacheRow } from './optimumPacking.js';

interface OptimumSlot extends CacheSlot {
  /** The slot's own cache [1, H, length, D] while it is outside the batch. */
  own: LayerCache[] | null;
}

const i64 = (xs: ArrayLike<number>) => BigInt64Array.from(xs as number[], BigInt);

export class OptimumBackend implements KvBackend {
  readonly layout = 'optimum' as const;
  readonly multiToken = false;
  readonly vocabSize: number;
  private nextId = 1;
  private rows: OptimumSlot[] = [];
  private cache: LayerCache[] = [];
  private pastLength = 0;
  private pads: number[] = [];

  constructor(private readonly decoder: OnnxDecoder) {
    this.vocabSize = decoder.spec.vocabSize;
  }

  createSlot(): CacheSlot {
    return { id: this.nextId++, length: 0, own: null } as OptimumSlot;
  }

  async extend(s: CacheSlot, ids: number[]): Promise<Float32Array> {
    const slot = s as OptimumSlot;
    const start = slot.length;
    const out = await this.decoder.step({
      batch: 1,
      inputIds: i64(ids),
      attentionMask: new BigInt64Array(start + ids.length).fill(1n),
      positionIds: i64(ids.map((_, i) => start + i)),
      past: slot.own ?? this.decoder.emptyCache(1),
      pastLength: start,
    });
    slot.own = out.present;
    slot.length += ids.length;
    return out.logits;
  }

  setBatch(next: CacheSlot[]): void {
    const slots = next as OptimumSlot[];
    if (slots.length === this.rows.length && slots.every((s, i) => s === this.rows[i])) return;
    if (slots.length === 0) {
      this.rows = [];
      this.cache = [];
      this.pastLength = 0;
      this.pads = [];
      return;
    }
    if (this.rows.length === 0 && slots.length === 1 && slots[0]!.own) {
      // A lone sequence keeps its own cache: no copy.
      const s = slots[0]!;
      this.rows = [s];
      this.cache = s.own!;
      this.pastLength = s.length;
      this.pads = [0];
      s.own = null;
      return;
    }
    const sources: CacheRow[] = slots.map((s) => {
      const row = this.rows.indexOf(s);
      if (row !== -1) return { cache: this.cache, row, offset: this.pads[row]!, length: s.length };
      if (!s.own) throw new Error(`slot ${s.id} joins the batch without a cache`);
      return { cache: s.own, row: 0, offset: 0, length: s.length };
    });
    const spec = this.decoder.spec;
    const packed = packRows(sources, spec.layers, spec.kvHeads, spec.headDim);
    this.rows = [...slots];
    this.cache = packed.past;
    this.pastLength = packed.pastLength;
    this.pads = packed.pads;
    for (const s of slots) s.own = null;
  }

  async decode(tokens: number[][]): Promise<Float32Array> {
    if (tokens.some((t) => t.length !== 1)) throw new Error('the Optimum layout decodes one token per row');
    const batch = this.rows.length;
    const total = this.pastLength + 1;
    const mask = new BigInt64Array(batch * total).fill(1n);
    this.pads.forEach((pad, r) => mask.fill(0n, r * total, r * total + pad));
    const out = await this.decoder.step({
      batch,
      inputIds: i64(tokens.map((t) => t[0]!)),
      attentionMask: mask,
      positionIds: i64(this.rows.map((s) => s.length)),
      past: this.cache,
      pastLength: this.pastLength,
    });
    this.cache = out.present;
    this.pastLength = total;
    for (const s of this.rows) s.length += 1;
    return out.logits;
  }

  truncate(): void {
    throw new Error('the Optimum layout cannot truncate its cache');
  }

  release(s: CacheSlot): void {
    (s as OptimumSlot).own = null;
  }

  close(): Promise<void> {
    this.rows = [];
    this.cache = [];
    return this.decoder.close();
  }
}
