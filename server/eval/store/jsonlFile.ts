// Append-only JSONL files that survive interruption: one write and one fdatasync per record, and
// a record cut short by a crash (no final newline) is dropped before appending resumes.
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';

export interface JsonlRead<T> {
  records: T[];
  /** Lines that were not JSON (a torn last line is counted here too). */
  badLines: number;
}

export function readJsonl<T>(path: string): JsonlRead<T> {
  if (!existsSync(path)) return { records: [], badLines: 0 };
  const records: T[] = [];
  let badLines = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      badLines++;
    }
  }
  return { records, badLines };
}

/** Bytes up to and including the last newline: what survives of a file whose last write was torn. */
export function completeLength(buf: Buffer): number {
  return buf.lastIndexOf(0x0a) + 1;
}

export class JsonlAppender {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    const fd = openSync(this.path, 'a+');
    const buf = existsSync(this.path) ? readFileSync(this.path) : Buffer.alloc(0);
    const keep = completeLength(buf);
    if (keep < buf.length) ftruncateSync(fd, keep);
    this.fd = fd;
    return fd;
  }

  /** Writes one record as one line and flushes it to disk before returning. */
  append(record: unknown): void {
    const fd = this.open();
    writeSync(fd, JSON.stringify(record) + '\n');
    fdatasyncSync(fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
