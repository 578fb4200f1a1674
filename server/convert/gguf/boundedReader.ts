// A forward cursor over an open file for parsing untrusted headers: every read is checked against
// the file's size before anything is allocated, so a length field of 2^63 fails as "past the end"
// instead of allocating it. Reads go through one window buffer (at most 1 MiB, never larger than the
// file), so parsing 50,000 vocabulary strings costs a few dozen read calls, not 50,000.
import { readSync } from 'node:fs';

const WINDOW_BYTES = 1 << 20;

/** What a reader has committed to memory, for tests that check a hostile header allocates little. */
export interface AllocationStats {
  /** Sum of the sizes of every buffer and array made for the caller. */
  claimedBytes: number;
  /** The largest single one. */
  largestClaim: number;
}

export class EndOfFileError extends Error {}

/** Reads `dst.byteLength` bytes at `position`; readSync may return short counts for large requests. */
export function readFully(fd: number, dst: Uint8Array, position: number): void {
  let done = 0;
  while (done < dst.byteLength) {
    const n = readSync(fd, dst, done, Math.min(dst.byteLength - done, 1 << 30), position + done);
    if (n <= 0) throw new EndOfFileError(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

export class BoundedReader {
  private readonly window: Uint8Array;
  private readonly view: DataView;
  /** File offset of window[0] and how many window bytes are valid. */
  private windowStart = 0;
  private windowFill = 0;
  private pos = 0;
  readonly stats: AllocationStats;

  constructor(
    private readonly fd: number,
    readonly size: number,
    stats?: AllocationStats,
  ) {
    this.stats = stats ?? { claimedBytes: 0, largestClaim: 0 };
    this.window = new Uint8Array(Math.max(8, Math.min(WINDOW_BYTES, size)));
    this.view = new DataView(this.window.buffer);
  }

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.size - this.pos;
  }

  /** Refuses a read of n bytes (or n items of `itemBytes` each) that the rest of the file cannot hold. */
  need(n: number, what: string, itemBytes = 1): void {
    if (!Number.isSafeInteger(n) || n < 0 || n * itemBytes > this.remaining)
      throw new EndOfFileError(
        `${what} (${n}${itemBytes > 1 ? ` x ${itemBytes} bytes` : ' bytes'}) runs past the end of the file at byte ${this.pos}`,
      );
  }

  /** Records an allocation the caller is about to make; `need` must have bounded it already. */
  claim(bytes: number): void {
    this.stats.claimedBytes += bytes;
    this.stats.largestClaim = Math.max(this.stats.largestClaim, bytes);
  }

  /** Makes window[pos - windowStart .. + n) valid, for n no larger than the window. */
  private fill(n: number, what: string): number {
    this.need(n, what);
    if (this.pos < this.windowStart || this.pos + n > this.windowStart + this.windowFill) {
      const count = Math.min(this.window.byteLength, this.size - this.pos);
      readFully(this.fd, this.window.subarray(0, count), this.pos);
      this.windowStart = this.pos;
      this.windowFill = count;
    }
    const at = this.pos - this.windowStart;
    this.pos += n;
    return at;
  }

  u8(what: string): number {
    return this.window[this.fill(1, what)];
  }
  i8(what: string): number {
    return this.view.getInt8(this.fill(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.fill(2, what), true);
  }
  i16(what: string): number {
    return this.view.getInt16(this.fill(2, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.fill(4, what), true);
  }
  i32(what: string): number {
    return this.view.getInt32(this.fill(4, what), true);
  }
  f32(what: string): number {
    return this.view.getFloat32(this.fill(4, what), true);
  }
  f64(what: string): number {
    return this.view.getFloat64(this.fill(8, what), true);
  }
  u64(what: string): bigint {
    return this.view.getBigUint64(this.fill(8, what), true);
  }
  i64(what: string): bigint {
    return this.view.getBigInt64(this.fill(8, what), true);
  }

  /** A u64 count or length that must fit the rest of the file (so it is also a safe JS number). */
  count(what: string, itemBytes: number): number {
    const at = this.pos;
    const v = this.u64(what);
    if (v * BigInt(itemBytes) > BigInt(this.remaining))
      throw new EndOfFileError(
        `${what} ${v} (at byte ${at}) is more than the ${this.remaining} bytes left in the file can hold (truncated?)`,
      );
    return Number(v);
  }

  /** n bytes as a fresh array; n must already fit the file (`need`). */
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    this.claim(n);
    const out = new Uint8Array(n);
    if (n <= this.window.byteLength) {
      const at = this.fill(n, what);
      out.set(this.window.subarray(at, at + n));
    } else {
      readFully(this.fd, out, this.pos);
      this.pos += n;
    }
    return out;
  }

  /** A GGUF string: u64 byte length, then UTF-8 (invalid sequences become U+FFFD, as a tokenizer would). */
  string(what: string): string {
    const n = this.count(`${what} length`, 1);
    if (n <= this.window.byteLength) {
      this.claim(n);
      const at = this.fill(n, what);
      return decoder.decode(this.window.subarray(at, at + n));
    }
    return decoder.decode(this.bytes(n, what));
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}

const decoder = new TextDecoder('utf-8');
