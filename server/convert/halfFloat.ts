// IEEE half (F16) and bfloat16 (BF16) <-> float32, for checkpoints and fp16 ONNX weights.
// Node 20 has no Float16Array, so the bits are converted by hand (round to nearest even).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half bits, round to nearest even; overflow gives +-Infinity, NaN stays NaN. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  return halfFromFloatBits(u32[0]);
}

function halfFromFloatBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: Inf
  if (e <= 0) {
    // subnormal half (or zero): shift the mantissa with its implicit 1 into place
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent (up to Inf)
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

let halfTable: Float32Array | null = null;

/** All 65536 half values as float32 (256 KB), so decoding is one lookup per value. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    halfTable[h] =
      exp === 0
        ? sign * mant * 2 ** -24
        : exp === 0x1f
          ? mant
            ? NaN
            : sign * Infinity
          : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return halfTable;
}

export function halfToFloat(bits: number): number {
  return halfToFloatTable()[bits & 0xffff];
}

export function halfArrayToFloat(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const t = halfToFloatTable();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

export function floatArrayToHalf(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = halfFromFloatBits(bits[i]);
  return out;
}

/** bfloat16 is the top half of a float32: widening is a shift. */
export function bf16ArrayToFloat(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

/** float32 -> bfloat16 bits, round to nearest even (NaN kept quiet). */
export function floatArrayToBf16(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}
