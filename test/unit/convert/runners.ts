// Small reference drivers for the two decoder layouts, used by the converter tests:
// - OptimumRunner: past in, present (= past + new) out, one row.
// - FastRunner: what the engine does with the fast layout: JS-owned [B, Hkv, capacity, D] buffers
//   passed as inputs, past_bias marking each row's valid slots, new.{i}.* copied in at each row's length.
import * as ort from 'onnxruntime-node';

export const MASK = -3.4028234663852886e38;

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

export class FastRunner {
  readonly lengths: number[];
  private readonly keys: Float32Array[] = [];
  private readonly values: Float32Array[] = [];

  constructor(
    private readonly session: ort.InferenceSession,
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

  /**
   * One call with each row's new tokens (rows may differ in length, even be empty: they are right-
   * padded). Returns per row the logits of its real tokens.
   */
  async step(rows: number[][]): Promise<Float32Array[][]> {
    const { batch: B, capacity: C, d } = this;
    const S = Math.max(...rows.map((r) => r.length));
    const ids: number[] = [];
    const pos: number[] = [];
    for (let b = 0; b < B; b++)
      for (let s = 0; s < S; s++) {
        ids.push(rows[b][Math.min(s, rows[b].length - 1)] ?? 0);
        pos.push(this.lengths[b] + s);
      }
    const bias = new Float32Array(B * C).fill(MASK);
    for (let b = 0; b < B; b++) bias.fill(0, b * C, b * C + this.lengths[b]);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(ids, [B, S]),
      position_ids: i64(pos, [B, S]),
      past_bias: new ort.Tensor('float32', bias, [B, 1, 1, C]),
    };
    const dims = [B, d.kvHeads, C, d.headDim];
    for (let i = 0; i < d.layers; i++) {
      feeds[`past_key_values.${i}.key`] = new ort.Tensor('float32', this.keys[i], dims);
      feeds[`past_key_values.${i}.value`] = new ort.Tensor('float32', this.values[i], dims);
    }
    const out = await this.session.run(feeds);
    // copy each row's real new K/V into the buffers at its length
    const D = d.headDim;
    for (let i = 0; i < d.layers; i++) {
      for (const [kind, buf] of [
        ['key', this.keys[i]],
        ['value', this.values[i]],
      ] as const) {
        const t = out[`new.${i}.${kind}`];
        const src = t.data as Float32Array;
        if (t.dims.join() !== [B, d.kvHeads, S, D].join()) throw new Error(`new.${i}.${kind} dims ${t.dims}`);
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
    const logits = out.logits.data as Float32Array;
    const V = d.vocab;
    return rows.map((r, b) => r.map((_, s) => logits.slice((b * S + s) * V, (b * S + s + 1) * V)));
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
