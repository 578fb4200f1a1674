// Writes small GGUF files for tests: metadata of every value type, tensors in the quantized block
// formats (quantizers below, written from ggml's block layouts), and a record of where each
// structural field (counts, lengths, types, dims, offsets) lies, so a fuzzer can aim at them.
import { writeFileSync } from 'node:fs';
import { halfToFloat, toHalfBits } from '../../server/convert/halfFloat.js';

export type ScalarType =
  'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64' | 'i64' | 'f64';
export type MetaValue =
  | { type: ScalarType; value: number | bigint | boolean | string }
  | { type: 'array'; itemType: ScalarType | 'array'; values: Array<number | bigint | boolean | string | MetaValue> };

const TYPE_ID: Record<ScalarType | 'array', number> = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
};

export const m = {
  str: (value: string): MetaValue => ({ type: 'string', value }),
  u32: (value: number): MetaValue => ({ type: 'u32', value }),
  i32: (value: number): MetaValue => ({ type: 'i32', value }),
  u64: (value: number | bigint): MetaValue => ({ type: 'u64', value: BigInt(value) }),
  f32: (value: number): MetaValue => ({ type: 'f32', value }),
  f64: (value: number): MetaValue => ({ type: 'f64', value }),
  bool: (value: boolean): MetaValue => ({ type: 'bool', value }),
  arr: (itemType: ScalarType | 'array', values: Array<number | bigint | boolean | string | MetaValue>): MetaValue => ({
    type: 'array',
    itemType,
    values,
  }),
};

export interface GgufTensorSpec {
  name: string;
  /** ggml order: dims[0] is the contiguous one. */
  dims: number[];
  /** ggml type id. */
  typeId: number;
  data: Uint8Array;
}

/** A structural field of the written file, for aimed mutations. */
export interface Field {
  kind: 'magic' | 'version' | 'count' | 'length' | 'valueType' | 'nDims' | 'dim' | 'tensorType' | 'offset';
  at: number;
  bytes: 4 | 8;
}

export interface WrittenGguf {
  bytes: Uint8Array;
  fields: Field[];
  /** Where the tensor data starts. */
  dataStart: number;
}

class Out {
  private chunks: Buffer[] = [];
  size = 0;
  fields: Field[] = [];
  push(b: Buffer) {
    this.chunks.push(b);
    this.size += b.length;
  }
  u32(v: number, kind?: Field['kind']) {
    if (kind) this.fields.push({ kind, at: this.size, bytes: 4 });
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }
  u64(v: number | bigint, kind?: Field['kind']) {
    if (kind) this.fields.push({ kind, at: this.size, bytes: 8 });
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length, 'length');
    this.push(b);
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.chunks));
  }
}

function writeScalar(o: Out, type: ScalarType, v: number | bigint | boolean | string) {
  const b = Buffer.alloc(8);
  switch (type) {
    case 'string':
      return o.string(v as string);
    case 'u8':
      return o.push(Buffer.from([Number(v) & 255]));
    case 'i8':
      b.writeInt8(Number(v));
      return o.push(b.subarray(0, 1));
    case 'bool':
      return o.push(Buffer.from([v ? 1 : 0]));
    case 'u16':
      b.writeUInt16LE(Number(v));
      return o.push(b.subarray(0, 2));
    case 'i16':
      b.writeInt16LE(Number(v));
      return o.push(b.subarray(0, 2));
    case 'u32':
      return o.u32(Number(v));
    case 'i32':
      b.writeInt32LE(Number(v));
      return o.push(b.subarray(0, 4));
    case 'f32':
      b.writeFloatLE(Number(v));
      return o.push(b.subarray(0, 4));
    case 'u64':
      return o.u64(BigInt(v));
    case 'i64':
      b.writeBigInt64LE(BigInt(v));
      return o.push(b);
    case 'f64':
      b.writeDoubleLE(Number(v));
      return o.push(b);
  }
}

function writeValue(o: Out, v: MetaValue) {
  if (v.type !== 'array') return writeScalar(o, v.type, v.value);
  o.u32(TYPE_ID[v.itemType], 'valueType');
  o.u64(v.values.length, 'count');
  for (const item of v.values) {
    if (v.itemType === 'array') writeValue(o, item as MetaValue);
    else writeScalar(o, v.itemType, item as number | bigint | boolean | string);
  }
}

export function buildGguf(opts: {
  metadata: Array<[string, MetaValue]>;
  tensors: GgufTensorSpec[];
  version?: number;
  alignment?: number;
}): WrittenGguf {
  const alignment = opts.alignment ?? 32;
  const o = new Out();
  o.u32(0x46554747, 'magic');
  o.u32(opts.version ?? 3, 'version');
  o.u64(opts.tensors.length, 'count');
  o.u64(opts.metadata.length, 'count');
  for (const [key, value] of opts.metadata) {
    o.string(key);
    o.u32(TYPE_ID[value.type], 'valueType');
    writeValue(o, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of opts.tensors) {
    o.string(t.name);
    o.u32(t.dims.length, 'nDims');
    for (const d of t.dims) o.u64(d, 'dim');
    o.u32(t.typeId, 'tensorType');
    o.u64(offset, 'offset');
    offsets.push(offset);
    offset += Math.ceil(t.data.byteLength / alignment) * alignment;
  }
  const dataStart = Math.ceil(o.size / alignment) * alignment;
  o.push(Buffer.alloc(dataStart - o.size));
  opts.tensors.forEach((t, i) => {
    o.push(Buffer.from(t.data));
    const end = offsets[i] + t.data.byteLength;
    const next = i + 1 < offsets.length ? offsets[i + 1] : end;
    o.push(Buffer.alloc(next - end));
  });
  return { bytes: o.bytes(), fields: o.fields, dataStart };
}

export function writeGguf(path: string, opts: Parameters<typeof buildGguf>[0]): WrittenGguf {
  const g = buildGguf(opts);
  writeFileSync(path, g.bytes);
  return g;
}

// ---- quantizers: float32 values -> ggml block bytes (simple round-to-nearest, not llama.cpp's search)

export const QUANT_TYPES = {
  F32: { id: 0, block: 1 },
  F16: { id: 1, block: 1 },
  Q4_0: { id: 2, block: 32 },
  Q4_1: { id: 3, block: 32 },
  Q5_0: { id: 6, block: 32 },
  Q5_1: { id: 7, block: 32 },
  Q8_0: { id: 8, block: 32 },
  Q4_K: { id: 12, block: 256 },
  Q5_K: { id: 13, block: 256 },
  Q6_K: { id: 14, block: 256 },
  BF16: { id: 30, block: 1 },
} as const;
export type QuantName = keyof typeof QUANT_TYPES;

const halfBytes = (v: number) => {
  const h = toHalfBits(v);
  return [h & 255, h >> 8];
};
/** The float32 an fp16 scale really holds once stored. */
const asHalf = (v: number) => halfToFloat(toHalfBits(v));
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function quantBlocks(x: Float32Array, block: number, bytes: number, fn: (v: Float32Array, out: number[]) => void) {
  if (x.length % block) throw new Error(`${x.length} values are not whole blocks of ${block}`);
  const out: number[] = [];
  for (let b = 0; b < x.length; b += block) {
    const before = out.length;
    fn(x.subarray(b, b + block), out);
    if (out.length - before !== bytes) throw new Error(`block wrote ${out.length - before} bytes, not ${bytes}`);
  }
  return new Uint8Array(out);
}

/** Packs 32 values of 0..15 as ggml does: value j in the low nibble of byte j, value j+16 in its high one. */
const packNibbles32 = (q: number[], out: number[]) => {
  for (let j = 0; j < 16; j++) out.push((q[j] & 15) | ((q[j + 16] & 15) << 4));
};
const fifthBits = (q: number[], out: number[]) => {
  let qh = 0;
  for (let j = 0; j < 32; j++) qh |= ((q[j] >> 4) & 1) << j;
  out.push(qh & 255, (qh >>> 8) & 255, (qh >>> 16) & 255, (qh >>> 24) & 255);
};

/** The 12 scale bytes of a Q4_K / Q5_K block from 8 six-bit scales and mins. */
function packScalesK4(sc: number[], mn: number[], out: number[]) {
  const b = new Array<number>(12).fill(0);
  for (let j = 0; j < 4; j++) {
    b[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
    b[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6);
    b[j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4);
  }
  out.push(...b);
}

/** The K-quant "d * scale * q - dmin * min" fit of 8 sub-blocks of 32, with `levels` levels. */
function fitK(v: Float32Array, levels: number) {
  const scales: number[] = [];
  const mins: number[] = [];
  for (let s = 0; s < 8; s++) {
    const sub = v.subarray(32 * s, 32 * s + 32);
    const lo = Math.min(0, ...sub);
    const hi = Math.max(...sub);
    scales.push((hi - lo) / levels);
    mins.push(-lo);
  }
  const d = asHalf(Math.max(...scales) / 63);
  const dmin = asHalf(Math.max(...mins) / 63);
  const sc = scales.map((s) => (d ? clamp(Math.round(s / d), 0, 63) : 0));
  const mn = mins.map((x) => (dmin ? clamp(Math.round(x / dmin), 0, 63) : 0));
  const q: number[] = [];
  for (let s = 0; s < 8; s++) {
    const step = d * sc[s];
    for (let l = 0; l < 32; l++) {
      const x = v[32 * s + l] + dmin * mn[s];
      q.push(step ? clamp(Math.round(x / step), 0, levels) : 0);
    }
  }
  return { d, dmin, sc, mn, q };
}

export function quantize(type: QuantName, x: Float32Array): Uint8Array {
  switch (type) {
    case 'F32':
      return new Uint8Array(x.slice().buffer);
    case 'F16':
      return quantBlocks(x, 1, 2, (v, out) => out.push(...halfBytes(v[0])));
    case 'BF16':
      return quantBlocks(x, 1, 2, (v, out) => {
        const bits = new Uint32Array(new Float32Array([v[0]]).buffer)[0];
        const r = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
        out.push(r & 255, r >> 8);
      });
    case 'Q8_0':
      return quantBlocks(x, 32, 34, (v, out) => {
        const d = asHalf(Math.max(...v.map(Math.abs)) / 127);
        out.push(...halfBytes(d));
        for (const a of v) out.push((d ? clamp(Math.round(a / d), -127, 127) : 0) & 255);
      });
    case 'Q4_0':
    case 'Q5_0': {
      const [bytes, half] = type === 'Q4_0' ? [18, 8] : [22, 16];
      return quantBlocks(x, 32, bytes, (v, out) => {
        const max = v.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
        const d = asHalf(max / -half);
        const q = Array.from(v, (a) => (d ? clamp(Math.trunc(a / d + half + 0.5), 0, 2 * half - 1) : half));
        out.push(...halfBytes(d));
        if (type === 'Q5_0') fifthBits(q, out);
        packNibbles32(q, out);
      });
    }
    case 'Q4_1':
    case 'Q5_1': {
      const [bytes, levels] = type === 'Q4_1' ? [20, 15] : [24, 31];
      return quantBlocks(x, 32, bytes, (v, out) => {
        const lo = Math.min(...v);
        const d = asHalf((Math.max(...v) - lo) / levels);
        const min = asHalf(lo);
        const q = Array.from(v, (a) => (d ? clamp(Math.round((a - min) / d), 0, levels) : 0));
        out.push(...halfBytes(d), ...halfBytes(min));
        if (type === 'Q5_1') fifthBits(q, out);
        packNibbles32(q, out);
      });
    }
    case 'Q4_K':
    case 'Q5_K': {
      const five = type === 'Q5_K';
      return quantBlocks(x, 256, five ? 176 : 144, (v, out) => {
        const { d, dmin, sc, mn, q } = fitK(v, five ? 31 : 15);
        out.push(...halfBytes(d), ...halfBytes(dmin));
        packScalesK4(sc, mn, out);
        if (five) {
          // bit s of byte l is the fifth bit of value 32s + l
          for (let l = 0; l < 32; l++) {
            let b = 0;
            for (let s = 0; s < 8; s++) b |= ((q[32 * s + l] >> 4) & 1) << s;
            out.push(b);
          }
        }
        // byte 32c + l: value 64c + l in the low nibble, value 64c + 32 + l in the high one
        for (let c = 0; c < 4; c++)
          for (let l = 0; l < 32; l++) out.push((q[64 * c + l] & 15) | ((q[64 * c + 32 + l] & 15) << 4));
      });
    }
    case 'Q6_K':
      return quantBlocks(x, 256, 210, (v, out) => {
        const subScales: number[] = [];
        for (let s = 0; s < 16; s++) {
          const sub = v.subarray(16 * s, 16 * s + 16);
          const max = sub.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
          subScales.push(max / -32);
        }
        const amax = Math.max(...subScales.map(Math.abs));
        const d = asHalf(amax / 127);
        const sc = subScales.map((s) => (d ? clamp(Math.round(s / d), -128, 127) : 0));
        const q = Array.from(v, (a, i) => {
          const step = d * sc[i >> 4];
          return step ? clamp(Math.round(a / step) + 32, 0, 63) : 32;
        });
        const ql = new Array<number>(128).fill(0);
        const qh = new Array<number>(64).fill(0);
        for (let h = 0; h < 2; h++)
          for (let l = 0; l < 32; l++) {
            const [q1, q2, q3, q4] = [0, 32, 64, 96].map((k) => q[128 * h + k + l]);
            ql[64 * h + l] = (q1 & 15) | ((q3 & 15) << 4);
            ql[64 * h + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
            qh[32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
          }
        out.push(...ql, ...qh, ...sc.map((s) => s & 255), ...halfBytes(d));
      });
  }
}
