// Reader for llama.cpp's GGUF files (v2 and v3, little-endian): magic "GGUF", version, tensor and
// metadata counts, the metadata key/values, the tensor table (name, dims with ne[0] first, ggml type,
// offset), then the tensor data from the next multiple of general.alignment. The header is untrusted:
// every count, length, shape and offset is checked against the file's size before it is used, and a
// bad file is refused with one line naming the file and the problem (GgufError).
import { closeSync, fstatSync, openSync } from 'node:fs';
import { BoundedReader, EndOfFileError, readFully, type AllocationStats } from './boundedReader.js';
import { byteSize, dequantize, ggmlType, type GgmlType } from './dequant.js';

/** A refused file: the message is one line, "<file>: <problem>". */
export class GgufError extends Error {}

/** A problem found while parsing, before the file name is put in front. */
class FormatError extends Error {}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** Arrays of arrays of arrays are legal GGUF but unused; deeper nesting is refused. */
const MAX_ARRAY_DEPTH = 3;
const MAX_TENSOR_NAME = 256;
/** Element counts above this cannot be indexed safely (and no real file comes close). */
const MAX_ELEMENTS = 2 ** 50;

export type GgufNumbers =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

/** A metadata value: bool arrays are Uint8Arrays of 0/1; u64/i64 scalars are numbers when safe. */
export type GgufValue = number | bigint | boolean | string | GgufNumbers | string[] | GgufValue[];

export interface GgufTensor {
  name: string;
  /** ggml order: dims[0] is the contiguous one (the reverse of the PyTorch shape). */
  dims: number[];
  type: GgmlType;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteSize: number;
  count: number;
}

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensor[];
  alignment: number;
  dataStart: number;
}

// GGUF value type ids -> [name, bytes per item, typed array for arrays of it].
type NumericReader = (r: BoundedReader, what: string) => number | bigint;
type NumbersOver = new (buffer: ArrayBuffer, byteOffset: number, length: number) => GgufNumbers;
const SCALARS: Record<number, { name: string; bytes: number; read: NumericReader; array: NumbersOver }> = {
  0: { name: 'u8', bytes: 1, read: (r, w) => r.u8(w), array: Uint8Array },
  1: { name: 'i8', bytes: 1, read: (r, w) => r.i8(w), array: Int8Array },
  2: { name: 'u16', bytes: 2, read: (r, w) => r.u16(w), array: Uint16Array },
  3: { name: 'i16', bytes: 2, read: (r, w) => r.i16(w), array: Int16Array },
  4: { name: 'u32', bytes: 4, read: (r, w) => r.u32(w), array: Uint32Array },
  5: { name: 'i32', bytes: 4, read: (r, w) => r.i32(w), array: Int32Array },
  6: { name: 'f32', bytes: 4, read: (r, w) => r.f32(w), array: Float32Array },
  7: { name: 'bool', bytes: 1, read: (r, w) => r.u8(w), array: Uint8Array },
  10: { name: 'u64', bytes: 8, read: (r, w) => r.u64(w), array: BigUint64Array },
  11: { name: 'i64', bytes: 8, read: (r, w) => r.i64(w), array: BigInt64Array },
  12: { name: 'f64', bytes: 8, read: (r, w) => r.f64(w), array: Float64Array },
};
const STRING = 8;
const ARRAY = 9;
/** Fewest bytes one array item of each type takes in the file (a string is at least its length). */
const minItemBytes = (type: number) => (type === STRING ? 8 : type === ARRAY ? 12 : (SCALARS[type]?.bytes ?? 1));

/** A name from the file as it may appear in a one-line message: control characters escaped, cut short. */
export function printable(name: string): string {
  const escaped = name.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}

const safe = (v: bigint): number | bigint =>
  v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

function readValue(r: BoundedReader, type: number, what: string, depth = 0): GgufValue {
  if (type === STRING) return r.string(what);
  if (type === ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) throw new FormatError(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const itemType = r.u32(`${what} item type`);
    if (itemType !== STRING && itemType !== ARRAY && !SCALARS[itemType])
      throw new FormatError(`${what}: unknown array item type ${itemType}`);
    const n = r.count(`${what} item count`, minItemBytes(itemType));
    const scalar = SCALARS[itemType];
    if (scalar) {
      // a fresh buffer of exactly the file's bytes, viewed as the item type (both little-endian)
      const raw = r.bytes(n * scalar.bytes, what);
      return new scalar.array(raw.buffer as ArrayBuffer, 0, n);
    }
    // grown item by item (one slot per item read), never sized by the count up front
    const out: GgufValue[] = [];
    for (let i = 0; i < n; i++) {
      r.claim(8);
      out.push(readValue(r, itemType, `${what}[${i}]`, depth + 1));
    }
    return out as string[] | GgufValue[];
  }
  const scalar = SCALARS[type];
  if (!scalar) throw new FormatError(`${what}: unknown value type ${type}`);
  const v = scalar.read(r, what);
  if (type === 7) return v !== 0;
  return typeof v === 'bigint' ? safe(v) : v;
}

function readTensorInfo(r: BoundedReader, index: number): Omit<GgufTensor, 'offset'> & { relOffset: number } {
  const name = r.string(`tensor ${index} name`);
  if (name.length > MAX_TENSOR_NAME) throw new FormatError(`tensor ${index}: name longer than ${MAX_TENSOR_NAME}`);
  const label = `tensor ${printable(name)}`;
  const nDims = r.u32(`${label} dimension count`);
  if (nDims > MAX_DIMS) throw new FormatError(`${label}: ${nDims} dimensions (at most ${MAX_DIMS})`);
  r.claim(8 * nDims);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < nDims; i++) {
    const d = r.u64(`${label} dimension ${i}`);
    if (d > BigInt(MAX_ELEMENTS)) throw new FormatError(`${label}: absurd dimension ${d}`);
    dims.push(Number(d));
    count *= Number(d);
    if (count > MAX_ELEMENTS) throw new FormatError(`${label}: absurd shape [${dims}...]`);
  }
  const typeId = r.u32(`${label} type`);
  const type = ggmlType(typeId);
  if (!type) throw new FormatError(`${label}: unknown ggml type ${typeId}`);
  if ((dims[0] ?? 1) % type.blockSize)
    throw new FormatError(`${label}: row of ${dims[0]} values is not whole ${type.name} blocks of ${type.blockSize}`);
  const relOffset = r.u64(`${label} offset`);
  if (relOffset > BigInt(r.size)) throw new FormatError(`${label}: offset ${relOffset} is past the end of the file`);
  return { name, dims, type, count, byteSize: byteSize(type, count), relOffset: Number(relOffset) };
}

/** Parses and checks the header; tensor data is only located, not read. */
function parseHeader(r: BoundedReader): GgufHeader {
  const magic = r.u32('magic');
  if (magic !== MAGIC) throw new FormatError('not a GGUF file (wrong magic)');
  const version = r.u32('version');
  if (version === 1) throw new FormatError('GGUF v1 is not supported (re-convert the model with a current llama.cpp)');
  if (version !== 2 && version !== 3)
    throw new FormatError(
      version > 0xffff && (version & 0xffff) === 0
        ? 'big-endian GGUF files are not supported'
        : `unknown GGUF version ${version}`,
    );
  // Minimum bytes per entry: a tensor is name length + dims count + one dim + type + offset.
  const tensorCount = r.count('tensor count', 8 + 4 + 4 + 8);
  const kvCount = r.count('metadata count', 8 + 4 + 1);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = r.string(`metadata key ${i}`);
    const label = `metadata ${printable(key)}`;
    if (metadata.has(key)) throw new FormatError(`${label} appears twice`);
    const type = r.u32(`${label} type`);
    metadata.set(key, readValue(r, type, label));
  }

  const alignValue = metadata.get('general.alignment') ?? DEFAULT_ALIGNMENT;
  if (
    typeof alignValue !== 'number' ||
    !Number.isInteger(alignValue) ||
    alignValue <= 0 ||
    alignValue & (alignValue - 1)
  )
    throw new FormatError(`general.alignment ${String(alignValue)} is not a power of two`);
  const alignment = alignValue;

  const infos: Array<ReturnType<typeof readTensorInfo>> = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const t = readTensorInfo(r, i);
    if (names.has(t.name)) throw new FormatError(`tensor ${printable(t.name)} appears twice`);
    names.add(t.name);
    infos.push(t);
  }
  const dataStart = Math.ceil(r.position / alignment) * alignment;

  const tensors: GgufTensor[] = infos.map(({ relOffset, ...t }) => {
    if (relOffset % alignment)
      throw new FormatError(`tensor ${printable(t.name)}: offset ${relOffset} is not ${alignment}-aligned`);
    const offset = dataStart + relOffset;
    if (offset + t.byteSize > r.size)
      throw new FormatError(
        `tensor ${printable(t.name)}: data (${t.byteSize} bytes at byte ${offset}) runs past the end of the file (${r.size} bytes)`,
      );
    return { ...t, offset };
  });
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [a, b] = [byOffset[i - 1], byOffset[i]];
    if (a.offset + a.byteSize > b.offset)
      throw new FormatError(`tensors ${printable(a.name)} and ${printable(b.name)} overlap`);
  }
  return { version, metadata, tensors, alignment, dataStart };
}

export interface GgufOpenOptions {
  /** Filled with what the header parse allocated (tests of hostile files). */
  stats?: AllocationStats;
}

/** An open GGUF file: metadata and tensor table parsed and checked; tensors read on demand. */
export class GgufFile {
  private fd: number | null;
  private readonly byName: Map<string, GgufTensor>;

  private constructor(
    readonly path: string,
    fd: number,
    readonly header: GgufHeader,
  ) {
    this.fd = fd;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static open(path: string, opts: GgufOpenOptions = {}): GgufFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new GgufError(`${path}: ${(err as Error).message}`);
    }
    try {
      const r = new BoundedReader(fd, fstatSync(fd).size, opts.stats);
      return new GgufFile(path, fd, parseHeader(r));
    } catch (err) {
      closeSync(fd);
      if (err instanceof FormatError || err instanceof EndOfFileError) throw new GgufError(`${path}: ${err.message}`);
      throw err;
    }
  }

  get metadata(): Map<string, GgufValue> {
    return this.header.metadata;
  }

  get tensors(): GgufTensor[] {
    return this.header.tensors;
  }

  tensor(name: string): GgufTensor | undefined {
    return this.byName.get(name);
  }

  /** The tensor's bytes as stored (bounds were checked when the file was opened). */
  readRaw(t: GgufTensor): Uint8Array {
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    const out = new Uint8Array(t.byteSize);
    readFully(this.fd, out, t.offset);
    return out;
  }

  /** The tensor as float32 values in ggml order (row-major with dims[0] fastest). */
  read(t: GgufTensor): Float32Array {
    try {
      return dequantize(t.type, this.readRaw(t), t.count);
    } catch (err) {
      throw new GgufError(`${this.path}: tensor ${printable(t.name)}: ${(err as Error).message}`);
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
