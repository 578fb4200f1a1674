// KV backend for the fast layout: the engine owns the cache buffers and the graph returns only the
// new tokens' keys/values, which are written in place at each row's length. Nothing is copied per
// step; rows are copied only when they join the batch (from their prefill buffer) or move up to
// fill a hole left by a finished row.
import type { FastDecoder } from '../fastDecoder.js';
import { MASKED } from '../fastDecoder.js';
import type { CacheSlot, KvBackend } from './backend.js';
import { KvBuffer } from './kvBuffer.js';

interface FastSlot extends CacheSlot {
  /** The slot's own single-row buffer while it is outside the batch (prefill). */
  own: KvBuffer | null;
  /** Row in the batch buffer, or -1. */
  row: number;
}

function pastBias(rows: FastSlot[], capacity: number): Float32Array {
  const bias = new Float32Array(rows.length * capacity).fill(MASKED);
  rows.forEach((s, r) => bias.fill(0, r * capacity, r * capacity + s.length));
  return bias;
}

export class FastBackend implements KvBackend {
  readonly layout = 'fast' as const;
  readonly multiToken = true;
  readonly vocabSize: number;
  private nextId = 1;
  private rows: FastSlot[] = [];
  private readonly batch: KvBuffer;

  constructor(private readonly decoder: FastDecoder) {
    this.vocabSize = decoder.spec.vocabSize;
    this.batch = new KvBuffer(decoder.spec);
  }

  createSlot(): CacheSlot {
    return { id: this.nextId++, length: 0, own: null, row: -1 } as FastSlot;
  }

  async extend(s: CacheSlot, ids: number[], logitsFrom = 0): Promise<Float32Array> {
    const slot = s as FastSlot;
    if (slot.row !== -1) throw new Error(`slot ${slot.id} is in the batch; use decode()`);
    const own = (slot.own ??= new KvBuffer(this.decoder.spec));
    // The call reads the past only: sized for it, the buffer holds no masked slots for this chunk's own
    // positions, which the graph would score and soften for nothing (attention work scales with the
    // capacity; a first chunk runs with capacity 0). Room for them is made after, to write them.
    own.ensure(1, slot.length, [slot.length]);
    const start = slot.length;
    const out = await this.decoder.step({
      batch: 1,
      inputIds: BigInt64Array.from(ids, BigInt),
      positionIds: BigInt64Array.from(ids, (_, i) => BigInt(start + i)),
      pastBias: pastBias([slot], own.capacity),
      capacity: own.capacity,
      pastKeys: own.keys,
      pastValues: own.values,
      logitsStart: logitsFrom,
    });
    own.ensure(1, start + ids.length, [start]);
    own.writeNew(out.newKeys, out.newValues, 0, ids.length, 0, start);
    slot.length += ids.length;
    return out.logits;
  }

  setBatch(next: CacheSlot[]): void {
    const slots = next as FastSlot[];
    if (slots.length === this.rows.length && slots.every((s, i) => s === this.rows[i])) return;
    // Staying rows keep their order, so each moves up (to a lower or equal row) and never over a row still to move.
    let lastRow = -1;
    slots.forEach((s, i) => {
      if (s.row === -1) return;
      if (s.row <= lastRow || s.row < i) throw new Error('staying batch rows must keep their order and come first');
      lastRow = s.row;
    });
    const maxLength = slots.reduce((m, s) => Math.max(m, s.length), 0);
    this.batch.ensure(
      slots.length,
      maxLength + 1,
      this.rows.map((s) => s.length),
    );
    slots.forEach((s, i) => {
      if (s.row === -1) {
        if (!s.own && s.length > 0) throw new Error(`slot ${s.id} joins the batch without a cache`);
        if (s.own) this.batch.copyRowFrom(s.own, 0, i, s.length);
        s.own = null;
      } else if (s.row !== i) {
        this.batch.copyRowFrom(this.batch, s.row, i, s.length);
      }
    });
    for (const s of this.rows) if (!slots.includes(s)) s.row = -1;
    slots.forEach((s, i) => (s.row = i));
    this.rows = [...slots];
    this.batch.shrinkTo(
      Math.max(slots.length, 1),
      maxLength + 1,
      this.rows.map((s) => s.length),
    );
  }

  async decode(tokens: number[][]): Promise<Float32Array> {
    const count = tokens[0]!.length;
    if (tokens.length !== this.rows.length || tokens.some((t) => t.length !== count)) {
      throw new Error('decode() needs the same number of tokens for every batch row');
    }
    const maxLength = this.rows.reduce((m, s) => Math.max(m, s.length), 0);
    this.batch.ensure(
      this.rows.length,
      maxLength + count,
      this.rows.map((s) => s.length),
    );
    const capacity = this.batch.capacity;
    const lastPosition = this.decoder.spec.contextLength - 1;
    const out = await this.decoder.step({
      batch: this.rows.length,
      inputIds: BigInt64Array.from(tokens.flat(), BigInt),
      // A row padded to the batch's draft width can run past the last position; RotaryEmbedding rejects
      // that, so padding positions are clamped (their outputs are dropped and their keys truncated).
      positionIds: BigInt64Array.from(
        this.rows.flatMap((s) => tokens[0]!.map((_, j) => BigInt(Math.min(s.length + j, lastPosition)))),
      ),
      pastBias: pastBias(this.rows, capacity),
      capacity,
      pastKeys: this.batch.keys,
      pastValues: this.batch.values,
    });
    this.rows.forEach((s, r) => {
      this.batch.writeNew(out.newKeys, out.newValues, r, count, r, s.length);
      s.length += count;
    });
    return out.logits;
  }

  truncate(s: CacheSlot, length: number): void {
    // Positions past `length` are masked by past_bias from now on and overwritten later.
    s.length = Math.min(s.length, length);
  }

  release(s: CacheSlot): void {
    (s as FastSlot).own = null;
  }

  close(): Promise<void> {
    this.rows = [];
    return this.decoder.close();
  }
}
