// Re-packs per-row KV caches into one left-padded batch. With the Optimum layout the graph hands
// back the whole cache each step, so while the batch is unchanged present is fed straight back as
// past; a re-pack happens only when rows join or leave (continuous batching).
import * as ort from 'onnxruntime-node';
import type { LayerCache } from '../onnxDecoder.js';

/** Where one sequence's cache lives: row `row` of a [B, H, P, D] cache, valid from `offset` on. */
export interface CacheRow {
  cache: LayerCache[];
  row: number;
  offset: number;
  length: number;
}

export interface PackedCache {
  past: LayerCache[];
  pastLength: number;
  /** Left padding of each row, in positions. */
  pads: number[];
}

function copyRow(
  src: ort.Tensor,
  from: CacheRow,
  dst: Float32Array,
  dstRow: number,
  dstPast: number,
  dstPad: number,
): void {
  const [, heads, srcPast, headDim] = src.dims as number[];
  const data = src.data as Float32Array;
  for (let h = 0; h < heads!; h++) {
    const s = ((from.row * heads! + h) * srcPast! + from.offset) * headDim!;
    const d = ((dstRow * heads! + h) * dstPast + dstPad) * headDim!;
    dst.set(data.subarray(s, s + from.length * headDim!), d);
  }
}

export function packRows(rows: CacheRow[], layers: number, kvHeads: number, headDim: number): PackedCache {
  const pastLength = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const pads = rows.map((r) => pastLength - r.length);
  const dims = [rows.length, kvHeads, pastLength, headDim];
  const size = rows.length * kvHeads * pastLength * headDim;
  const past: LayerCache[] = [];
  for (let l = 0; l < layers; l++) {
    const key = new Float32Array(size);
    const value = new Float32Array(size);
    rows.forEach((r, i) => {
      copyRow(r.cache[l]!.key, r, key, i, pastLength, pads[i]!);
      copyRow(r.cache[l]!.value, r, value, i, pastLength, pads[i]!);
    });
    past.push({ key: new ort.Tensor('float32', key, dims), value: new ort.Tensor('float32', value, dims) });
  }
  return { past, pastLength, pads };
}
