// ggml's tensor types (ids, block sizes, bytes per block: every type, so a file's tensor table can be
// bounds-checked even where we cannot dequantize) and the dequantizers for the common ones. The
// arithmetic is float32 step by step in the order of gguf-py's numpy dequantizers (which transformers
// uses), each step rounded with Math.fround, so the values are bit-identical to transformers' loading.
import { halfToFloat } from '../halfFloat.js';

export interface GgmlType {
  id: number;
  name: string;
  /** Values per block and bytes per block. */
  blockSize: number;
  typeSize: number;
}

/** ggml.h's enum ggml_type with ggml's block sizes (ids 4, 5, 31-33, 36-38 are retired). */
const TYPES: GgmlType[] = (
  [
    [0, 'F32', 1, 4],
    [1, 'F16', 1, 2],
    [2, 'Q4_0', 32, 18],
    [3, 'Q4_1', 32, 20],
    [6, 'Q5_0', 32, 22],
    [7, 'Q5_1', 32, 24],
    [8, 'Q8_0', 32, 34],
    [9, 'Q8_1', 32, 40],
    [10, 'Q2_K', 256, 84],
    [11, 'Q3_K', 256, 110],
    [12, 'Q4_K', 256, 144],
    [13, 'Q5_K', 256, 176],
    [14, 'Q6_K', 256, 210],
    [15, 'Q8_K', 256, 292],
    [16, 'IQ2_XXS', 256, 66],
    [17, 'IQ2_XS', 256, 74],
    [18, 'IQ3_XXS', 256, 98],
    [19, 'IQ1_S', 256, 50],
    [20, 'IQ4_NL', 32, 18],
    [21, 'IQ3_S', 256, 110],
    [22, 'IQ2_S', 256, 82],
    [23, 'IQ4_XS', 256, 136],
    [24, 'I8', 1, 1],
    [25, 'I16', 1, 2],
    [26, 'I32', 1, 4],
    [27, 'I64', 1, 8],
    [28, 'F64', 1, 8],
    [29, 'IQ1_M', 256, 56],
    [30, 'BF16', 1, 2],
    [34, 'TQ1_0', 256, 54],
    [35, 'TQ2_0', 256, 66],
    [39, 'MXFP4', 32, 17],
  ] as const
).map(([id, name, blockSize, typeSize]) => ({ id, name, blockSize, typeSize }));

const BY_ID = new Map(TYPES.map((t) => [t.id, t]));

export function ggmlType(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

export function ggmlTypeByName(name: string): GgmlType {
  const t = TYPES.find((x) => x.name === name);
  if (!t) throw new Error(`unknown ggml type ${name}`);
  return t;
}

const f = Math.fround;
const QK_K = 256;

/** src holds whole blocks; out receives blockSize values per block. */
type Dequantizer = (src: Uint8Array, out: Float32Array) => void;

const half = (b: Uint8Array, at: number) => halfToFloat(b[at] | (b[at + 1] << 8));

function dequantF32(src: Uint8Array, out: Float32Array): void {
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(src.subarray(0, out.byteLength));
}

function dequantF16(src: Uint8Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = half(src, 2 * i);
}

/** bfloat16 is the top half of a float32. */
function dequantBF16(src: Uint8Array, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < out.length; i++) bits[i] = (src[2 * i] << 16) | (src[2 * i + 1] << 24);
}

/** Q8_0: fp16 scale d, then 32 int8: x = q * d. */
function dequantQ8_0(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 34, o += 32) {
    const d = half(src, b);
    for (let j = 0; j < 32; j++) out[o + j] = f(((src[b + 2 + j] << 24) >> 24) * d);
  }
}

/** Q4_0: fp16 d, 16 bytes of nibbles (low nibbles are values 0-15, high ones 16-31): x = (q - 8) * d. */
function dequantQ4_0(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 18, o += 32) {
    const d = half(src, b);
    for (let j = 0; j < 16; j++) {
      const q = src[b + 2 + j];
      out[o + j] = f(d * ((q & 15) - 8));
      out[o + j + 16] = f(d * ((q >> 4) - 8));
    }
  }
}

/** Q4_1: fp16 d and min m, 16 bytes of nibbles: x = q * d + m. */
function dequantQ4_1(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 20, o += 32) {
    const d = half(src, b);
    const m = half(src, b + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[b + 4 + j];
      out[o + j] = f(f(d * (q & 15)) + m);
      out[o + j + 16] = f(f(d * (q >> 4)) + m);
    }
  }
}

/** The 32 fifth bits of a Q5 block, little-endian u32 (bit j belongs to value j). */
const u32At = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** Q5_0: fp16 d, 4 bytes of fifth bits, 16 bytes of nibbles: x = (q - 16) * d. */
function dequantQ5_0(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 22, o += 32) {
    const d = half(src, b);
    const qh = u32At(src, b + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[b + 6 + j];
      out[o + j] = f(d * (((q & 15) | (((qh >>> j) & 1) << 4)) - 16));
      out[o + j + 16] = f(d * (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16));
    }
  }
}

/** Q5_1: fp16 d and min m, fifth bits, nibbles: x = q * d + m. */
function dequantQ5_1(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 24, o += 32) {
    const d = half(src, b);
    const m = half(src, b + 2);
    const qh = u32At(src, b + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[b + 8 + j];
      out[o + j] = f(f(d * ((q & 15) | (((qh >>> j) & 1) << 4))) + m);
      out[o + j + 16] = f(f(d * ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4))) + m);
    }
  }
}

/**
 * The 6-bit scale and min of sub-block j (0-7) of a Q4_K / Q5_K block, packed in 12 bytes at `at`:
 * j < 4 in the low 6 bits of bytes j and j+4; j >= 4 in the nibbles of byte j+4 plus the top 2 bits
 * of bytes j-4 and j (ggml's get_scale_min_k4).
 */
function scaleMinK4(src: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [src[at + j] & 63, src[at + j + 4] & 63];
  const low = src[at + j + 4];
  return [(low & 15) | ((src[at + j - 4] >> 6) << 4), (low >> 4) | ((src[at + j] >> 6) << 4)];
}

/**
 * Q4_K: 256 values in 8 sub-blocks of 32: fp16 d and dmin, 12 bytes of 6-bit scales and mins, 128
 * bytes of nibbles (bytes 32c..32c+31 hold sub-block 2c in the low nibbles, 2c+1 in the high ones):
 * x = (d * scale) * q - dmin * min.
 */
function dequantQ4_K(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 144, o += QK_K) {
    const d = half(src, b);
    const dmin = half(src, b + 2);
    for (let sb = 0; sb < 8; sb++) {
      const [sc, mn] = scaleMinK4(src, b + 4, sb);
      const ds = f(d * sc);
      const dm = f(dmin * mn);
      const qs = b + 16 + 32 * (sb >> 1);
      const shift = 4 * (sb & 1);
      for (let l = 0; l < 32; l++) out[o + 32 * sb + l] = f(f(ds * ((src[qs + l] >> shift) & 15)) - dm);
    }
  }
}

/** Q5_K: Q4_K's layout with 32 bytes of fifth bits before the nibbles (bit sb of byte l: value 32sb + l). */
function dequantQ5_K(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 176, o += QK_K) {
    const d = half(src, b);
    const dmin = half(src, b + 2);
    for (let sb = 0; sb < 8; sb++) {
      const [sc, mn] = scaleMinK4(src, b + 4, sb);
      const ds = f(d * sc);
      const dm = f(dmin * mn);
      const qs = b + 48 + 32 * (sb >> 1);
      const shift = 4 * (sb & 1);
      for (let l = 0; l < 32; l++) {
        const q = ((src[qs + l] >> shift) & 15) | (((src[b + 16 + l] >> sb) & 1) << 4);
        out[o + 32 * sb + l] = f(f(ds * q) - dm);
      }
    }
  }
}

/**
 * Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales (one per 16 values), fp16 d.
 * Each half of 128 values: value 32k + l (k = 0..3) takes the low or high nibble of ql[64h + l + 32(k & 1)]
 * and bits 2k..2k+1 of qh[32h + l]; x = (d * scale) * (q - 32).
 */
function dequantQ6_K(src: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; o < out.length; b += 210, o += QK_K) {
    const d = half(src, b + 208);
    for (let h = 0; h < 2; h++) {
      for (let k = 0; k < 4; k++) {
        for (let l = 0; l < 32; l++) {
          const e = 128 * h + 32 * k + l;
          const lo = (src[b + 64 * h + l + 32 * (k & 1)] >> (4 * (k >> 1))) & 15;
          const hi = (src[b + 128 + 32 * h + l] >> (2 * k)) & 3;
          const scale = (src[b + 192 + (e >> 4)] << 24) >> 24;
          out[o + e] = f(f(d * scale) * ((lo | (hi << 4)) - 32));
        }
      }
    }
  }
}

const DEQUANTIZERS: Record<string, Dequantizer> = {
  F32: dequantF32,
  F16: dequantF16,
  BF16: dequantBF16,
  Q8_0: dequantQ8_0,
  Q4_0: dequantQ4_0,
  Q4_1: dequantQ4_1,
  Q5_0: dequantQ5_0,
  Q5_1: dequantQ5_1,
  Q4_K: dequantQ4_K,
  Q5_K: dequantQ5_K,
  Q6_K: dequantQ6_K,
};

export const DEQUANTIZABLE: readonly string[] = Object.keys(DEQUANTIZERS);

export function canDequantize(type: GgmlType): boolean {
  return type.name in DEQUANTIZERS;
}

/** Bytes of `count` values of `type` (count a whole number of blocks). */
export function byteSize(type: GgmlType, count: number): number {
  return (count / type.blockSize) * type.typeSize;
}

/** `count` values of `type` from their bytes, as float32. */
export function dequantize(type: GgmlType, src: Uint8Array, count: number): Float32Array {
  const fn = DEQUANTIZERS[type.name];
  if (!fn)
    throw new Error(`tensors of type ${type.name} cannot be dequantized (supported: ${DEQUANTIZABLE.join(', ')})`);
  if (count % type.blockSize) throw new Error(`${count} values are not whole ${type.name} blocks of ${type.blockSize}`);
  if (src.byteLength < byteSize(type, count))
    throw new Error(`${type.name}: ${src.byteLength} bytes hold fewer than ${count} values`);
  const out = new Float32Array(count);
  fn(src, out);
  return out;
}
