// Weight encodings for converted models: block-wise symmetric n-bit quantization in the layout of
// com.microsoft.MatMulNBits, and fp16 rounding, each reporting its largest weight error.
import { floatArrayToHalf, halfArrayToFloat } from './halfFloat.js';

export interface NBitsWeight {
  bits: 4 | 8;
  /** Output features (rows of HF's [out, in] weight) and input features. */
  N: number;
  K: number;
  blockSize: number;
  blocks: number;
  /** [N, blocks, blockSize * bits / 8]: per output row, K values in blocks; 4-bit: low nibble first. */
  data: Uint8Array;
  /** [N, blocks] */
  scales: Float32Array;
  maxError: number;
}

/**
 * Quantizes HF's row-major [N, K] linear weight (each output row's K inputs are contiguous, as
 * MatMulNBits wants). Symmetric: no zero_points input, so ORT uses the default zero point 2^(bits-1);
 * q = round(w / scale) + zp with scale = absmax / (2^(bits-1) - 1), so +-absmax are exact.
 */
export function quantizeNBits(w: Float32Array, N: number, K: number, bits: 4 | 8, blockSize = 32): NBitsWeight {
  if (w.length !== N * K) throw new Error(`quantize: ${w.length} values are not ${N}x${K}`);
  const blocks = Math.ceil(K / blockSize);
  const blob = (blockSize * bits) / 8;
  const zp = 1 << (bits - 1);
  const qmax = (1 << bits) - 1;
  const data = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  let maxError = 0;
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < blocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(k0 + blockSize, K);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(w[row + k]));
      const scale = Math.fround(amax / (zp - 1));
      scales[n * blocks + b] = scale;
      const base = (n * blocks + b) * blob;
      // padding past K stays q = zp (value 0)
      for (let j = 0; j < blockSize; j++) {
        const k = k0 + j;
        const v = k < k1 ? w[row + k] : 0;
        const q = scale === 0 ? zp : Math.min(qmax, Math.max(0, Math.round(v / scale) + zp));
        if (bits === 4) data[base + (j >> 1)] |= q << ((j & 1) * 4);
        else data[base + j] = q;
        if (k < k1) maxError = Math.max(maxError, Math.abs((q - zp) * scale - v));
      }
    }
  }
  return { bits, N, K, blockSize, blocks, data, scales, maxError };
}

/**
 * quantizeNBits' inverse: MatMulNBits' symmetric blocks (data [N, blocks, blockSize * bits / 8], scales
 * [N, blocks]) -> HF's row-major [N, K] float32, each value (q - 2^(bits-1)) * scale rounded to float32
 * (the block padding past K dropped). Quantizing the result again with the same bits and block size
 * gives the same bytes: a block's largest |value| comes back as (2^(bits-1) - 1) * scale, whose scale
 * is the stored one.
 */
export function dequantizeNBits(
  data: Uint8Array,
  scales: Float32Array,
  N: number,
  K: number,
  bits: 4 | 8,
  blockSize: number,
): Float32Array {
  const blocks = Math.ceil(K / blockSize);
  const blob = (blockSize * bits) / 8;
  if (data.length !== N * blocks * blob || scales.length !== N * blocks)
    throw new Error(
      `dequantize: ${data.length} bytes and ${scales.length} scales are not ${N}x${K} in ${bits}-bit blocks of ${blockSize}`,
    );
  const zp = 1 << (bits - 1);
  const out = new Float32Array(N * K); // stores round to float32, as numpy's float32 product does
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const scale = scales[n * blocks + b];
      const base = (n * blocks + b) * blob;
      const k0 = b * blockSize;
      const k1 = Math.min(k0 + blockSize, K);
      for (let k = k0; k < k1; k++) {
        const j = k - k0;
        const q = bits === 4 ? (data[base + (j >> 1)] >> ((j & 1) * 4)) & 0x0f : data[base + j];
        out[n * K + k] = (q - zp) * scale;
      }
    }
  }
  return out;
}

/** fp16 bits of a weight and the largest rounding error (overflow to Inf is refused). */
export function toFp16(w: Float32Array, name: string): { data: Uint16Array; maxError: number } {
  const data = floatArrayToHalf(w);
  const back = halfArrayToFloat(data);
  let maxError = 0;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs(back[i] - w[i]);
    if (!Number.isFinite(e) && Number.isFinite(w[i])) throw new Error(`${name}: value ${w[i]} overflows fp16`);
    if (e > maxError) maxError = e;
  }
  return { data, maxError };
}
