// Reader and writer for the safetensors format: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {...}}, then the raw little-endian
// tensor bytes (offsets relative to the end of the header). Tensors are read one at a time by offset,
// so a 500M-parameter checkpoint is never in memory at once. Assumes a little-endian host (x86, ARM).
import { closeSync, fstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { bf16ArrayToFloat, floatArrayToBf16, floatArrayToHalf, halfArrayToFloat } from './halfFloat.js';

/** The dtypes this module reads into float32 and writes from float32. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

const BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorInfo {
  name: string;
  /** As stored, e.g. F32, BF16, I64 (only F32/F16/BF16 can be read as float). */
  dtype: string;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface TensorSpec {
  name: string;
  dtype: FloatDtype;
  shape: number[];
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Reads count bytes at position into dst; readSync may return short reads for large requests. */
function readFully(fd: number, dst: Uint8Array, position: number): void {
  let done = 0;
  while (done < dst.byteLength) {
    const n = readSync(fd, dst, done, Math.min(dst.byteLength - done, 1 << 30), position + done);
    if (n <= 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

function writeFully(fd: number, src: Uint8Array, position: number): void {
  let done = 0;
  while (done < src.byteLength) {
    done += writeSync(fd, src, done, Math.min(src.byteLength - done, 1 << 30), position + done);
  }
}

/** One open .safetensors file; tensor data is read on demand. */
export class SafetensorsFile {
  private fd: number | null;
  private readonly infos = new Map<string, TensorInfo>();
  readonly metadata: Record<string, string>;
  private readonly dataStart: number;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
    const size = fstatSync(fd).size;
    const lenBuf = new Uint8Array(8);
    readFully(fd, lenBuf, 0);
    const headerLen = Number(Buffer.from(lenBuf).readBigUInt64LE(0));
    if (headerLen > 100 * 2 ** 20 || 8 + headerLen > size)
      throw new Error(`${path}: not a safetensors file (header length ${headerLen})`);
    const headerBytes = new Uint8Array(headerLen);
    readFully(fd, headerBytes, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(headerBytes)) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${path}: bad safetensors header: ${(err as Error).message}`);
    }
    this.dataStart = 8 + headerLen;
    this.metadata = (header.__metadata__ ?? {}) as Record<string, string>;
    for (const [name, v] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const [begin, end] = t.data_offsets;
      if (this.dataStart + end > size || begin > end) throw new Error(`${path}: tensor ${name} lies outside the file`);
      this.infos.set(name, { name, dtype: t.dtype, shape: t.shape, begin, end });
    }
  }

  static open(path: string): SafetensorsFile {
    const fd = openSync(path, 'r');
    try {
      return new SafetensorsFile(path, fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  names(): string[] {
    return [...this.infos.keys()];
  }

  info(name: string): TensorInfo | undefined {
    return this.infos.get(name);
  }

  /** The tensor as float32 (F16 and BF16 are widened exactly). */
  read(name: string): Float32Array {
    const t = this.infos.get(name);
    if (!t) throw new Error(`${this.path}: no tensor ${name}`);
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    const dtype = t.dtype as FloatDtype;
    const bytes = BYTES[dtype];
    if (!bytes) throw new Error(`${this.path}: tensor ${name} has dtype ${t.dtype}; only F32, F16 and BF16 are read`);
    const n = numel(t.shape);
    if (n * bytes !== t.end - t.begin) throw new Error(`${this.path}: tensor ${name}: shape and byte size disagree`);
    if (dtype === 'F32') {
      const out = new Float32Array(n);
      readFully(this.fd, new Uint8Array(out.buffer), this.dataStart + t.begin);
      return out;
    }
    const raw = new Uint16Array(n);
    readFully(this.fd, new Uint8Array(raw.buffer), this.dataStart + t.begin);
    return dtype === 'F16' ? halfArrayToFloat(raw) : bf16ArrayToFloat(raw);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Writes a safetensors file whose tensors are declared up front: the header (with every offset) goes
 * out first, then each tensor is written at its offset whenever it is ready, in any order. So a
 * generator can stream weights to disk without holding them all.
 */
export class SafetensorsWriter {
  private fd: number | null;
  private readonly slots = new Map<string, { spec: TensorSpec; begin: number; written: boolean }>();
  private readonly dataStart: number;

  private constructor(
    readonly path: string,
    specs: TensorSpec[],
    metadata: Record<string, string>,
  ) {
    const header: Record<string, unknown> = { __metadata__: metadata };
    let offset = 0;
    for (const spec of specs) {
      if (this.slots.has(spec.name)) throw new Error(`duplicate tensor ${spec.name}`);
      if (!BYTES[spec.dtype]) throw new Error(`tensor ${spec.name}: cannot write dtype ${spec.dtype}`);
      const size = numel(spec.shape) * BYTES[spec.dtype];
      header[spec.name] = { dtype: spec.dtype, shape: spec.shape, data_offsets: [offset, offset + size] };
      this.slots.set(spec.name, { spec, begin: offset, written: false });
      offset += size;
    }
    // Pad the JSON with spaces so the data starts 8-byte aligned, as the reference writer does.
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
    const headerBytes = Buffer.from(json);
    const lenBytes = Buffer.alloc(8);
    lenBytes.writeBigUInt64LE(BigInt(headerBytes.byteLength));
    this.dataStart = 8 + headerBytes.byteLength;
    this.fd = openSync(path, 'w');
    writeFully(this.fd, lenBytes, 0);
    writeFully(this.fd, headerBytes, 8);
  }

  static create(path: string, specs: TensorSpec[], metadata: Record<string, string> = { format: 'pt' }) {
    return new SafetensorsWriter(path, specs, metadata);
  }

  write(name: string, data: Float32Array): void {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`${this.path}: tensor ${name} was not declared`);
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    if (data.length !== numel(slot.spec.shape))
      throw new Error(
        `tensor ${name}: shape ${slot.spec.shape} needs ${numel(slot.spec.shape)} values, got ${data.length}`,
      );
    const typed =
      slot.spec.dtype === 'F32' ? data : slot.spec.dtype === 'F16' ? floatArrayToHalf(data) : floatArrayToBf16(data);
    writeFully(this.fd, new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), this.dataStart + slot.begin);
    slot.written = true;
  }

  /** Closes and deletes an unfinished file (after an error elsewhere). */
  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.path, { force: true });
  }

  /** Closes the file; every declared tensor must have been written (no holes). */
  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    const missing = [...this.slots.values()].filter((s) => !s.written).map((s) => s.spec.name);
    if (missing.length) throw new Error(`${this.path}: tensors never written: ${missing.slice(0, 5).join(', ')}`);
  }
}

/** Convenience: writes all tensors at once. */
export function writeSafetensors(
  path: string,
  tensors: Array<TensorSpec & { data: Float32Array }>,
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const w = SafetensorsWriter.create(path, tensors, metadata);
  for (const t of tensors) w.write(t.name, t.data);
  w.close();
}
