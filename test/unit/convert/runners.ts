// Small drivers for the two decoder layouts, used by the converter tests:
// - OptimumRunner: a reference for the Optimum layout: past in, present (= past + new) out, one row.
// - FastRunner: the fast layout through the engine's own FastDecoder, rows of any lengths.
import * as ort from 'onnxruntime-node';
import { FastDecoder, MASKED } from '../../../server/engine/fastDecoder.js';
import type { ModelSpec } from '../../../server/engine/modelFolder.js';

export interface Dims {
  layers: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
}

export function dimsOf(cfg: Record<string, number>): Dims {
  return {
    layers: cfg.num_hidden_layers,
    kvHeads: cfg.num_key_value_heads,
    headDim: cfg.head_dim,
    vocab: cfg.vocab_size,
  };
}

const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);

export class OptimumRunner {
  private past: Record<string, ort.Tensor> = {};
  length = 0;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly d: Dims,
  ) {
    this.reset();
  }

  reset(): void {
    this.length = 0;
    for (let i = 0; i < this.d.layers; i++)
      for (const k of ['key', 'value'])
        this.past[`past_key_values.${i}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          this.d.kvHeads,
          0,
          this.d.headDim,
        ]);
  }

  /** Feeds tokens after the cache; returns logits [S][V]. */
  async step(tokens: number[]): Promise<Float32Array[]> {
    const S = tokens.length;
    const T = this.length + S;
    const out = await this.session.run({
      input_ids: i64(tokens, [1, S]),
      attention_mask: i64(Array(T).fill(1), [1, T]),
      position_ids: i64(
        tokens.map((_, s) => this.length + s),
        [1, S],
      ),
      ...this.past,
    });
    for (let i = 0; i < this.d.layers; i++)
      for (const k of ['key', 'value']) this.past[`past_key_values.${i}.${k}`] = out[`present.${i}.${k}`];
    this.length = T;
    const logits = out.logits.data as Float32Array;
    return tokens.map((_, s) => logits.slice(s * this.d.vocab, (s + 1) * this.d.vocab));
  }
}

/**
 * Drives a fast-layout session through the engine's own FastDecoder (server/engine/fastDecoder.ts), with
 * the row bookkeeping the tests need: JS-owned [B, Hkv, capacity, D] buffers, each row's valid slots in
 * past_bias, rows right-padded to one length, and new.{i}.* copied in at each row's length.
 */
export class FastRunner {
  readonly lengths: number[];
  private readonly keys: Float32Array[] = [];
  private readonly values: Float32Array[] = [];

  private constructor(
    private readonly decoder: FastDecoder,
    private readonly d: Dims,
    readonly batch: number,
    readonly capacity: number,
  ) {
    this.lengths = Array(batch).fill(0);
    const n = batch * d.kvHeads * capacity * d.headDim;
    for (let i = 0; i < d.layers; i++) {
      this.keys.push(new Float32Array(n));
      this.values.push(new Float32Array(n));
    }
  }

  static async open(session: ort.InferenceSession, d: Dims, batch: number, capacity: number): Promise<FastRunner> {
    // FastDecoder reads only the cache shape (and the path, for its errors) from the spec.
    const spec = { onnxPath: 'model.onnx', layers: d.layers, kvHeads: d.kvHeads, headDim: d.headDim } as ModelSpec;
    return new FastRunner(await FastDecoder.fromSession(session, spec), d, batch, capacity);
  }

  /**
   * One call with each row's new tokens (rows may differ in length, even be empty: they are right-
   * padded). Returns per row the logits of its real tokens from `logitsStart` on.
   */
  async step(rows: number[][], logitsStart = 0): Promise<Float32Array[][]> {
    const { batch: B, capacity: C, d } = this;
    const S = Math.max(...rows.map((r) => r.length));
    const ids: number[] = [];
    const pos: number[] = [];
    for (let b = 0; b < B; b++)
      for (let s = 0; s < S; s++) {
        ids.push(rows[b][Math.min(s, rows[b].length - 1)] ?? 0);
        pos.push(this.lengths[b] + s);
      }
    const pastBias = new Float32Array(B * C).fill(MASKED);
    for (let b = 0; b < B; b++) pastBias.fill(0, b * C, b * C + this.lengths[b]);
    const out = await this.decoder.step({
      batch: B,
      inputIds: BigInt64Array.from(ids.map(BigInt)),
      positionIds: BigInt64Array.from(pos.map(BigInt)),
      pastBias,
      capacity: C,
      pastKeys: this.keys,
      pastValues: this.values,
      logitsStart,
    });
    if (out.logitsStart !== logitsStart) throw new Error(`asked logits from ${logitsStart}, got ${out.logitsStart}`);
    // copy each row's real new K/V into the buffers at its length
    const D = d.headDim;
    for (let i = 0; i < d.layers; i++) {
      for (const [kind, src, buf] of [
        ['key', out.newKeys[i], this.keys[i]],
        ['value', out.newValues[i], this.values[i]],
      ] as const) {
        if (src.length !== B * d.kvHeads * S * D) throw new Error(`new.${i}.${kind} has ${src.length} values`);
        for (let b = 0; b < B; b++)
          for (let h = 0; h < d.kvHeads; h++) {
            const n = rows[b].length;
            if (this.lengths[b] + n > C) throw new Error('cache full');
            const from = (b * d.kvHeads + h) * S * D;
            const to = ((b * d.kvHeads + h) * C + this.lengths[b]) * D;
            buf.set(src.subarray(from, from + n * D), to);
          }
      }
    }
    for (let b = 0; b < B; b++) this.lengths[b] += rows[b].length;
    const V = d.vocab;
    const n = S - logitsStart;
    if (out.logits.length !== B * n * V) throw new Error(`logits has ${out.logits.length} values, not ${B}x${n}x${V}`);
    return rows.map((r, b) =>
      r.slice(logitsStart).map((_, j) => out.logits.slice((b * n + j) * V, (b * n + j + 1) * V)),
    );
  }
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
