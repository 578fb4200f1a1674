// The output file: written whole to a temporary file beside it, then renamed over it, so a crash or a
// full disk never leaves half a dataset; and never one of the files it was made from.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** The path with its existing part's symlinks resolved, so two names of one file compare equal. */
function canonical(path: string): string {
  const abs = resolve(path);
  if (existsSync(abs)) return realpathSync(abs);
  const dir = dirname(abs);
  return dir === abs ? abs : join(canonical(dir), basename(abs));
}

export function checkOutPath(out: string, sources: readonly string[]): void {
  if (existsSync(out) && statSync(out).isDirectory()) throw new Error(`--out ${out} is a folder; give a file path`);
  const target = canonical(out);
  if (sources.some((s) => canonical(s) === target)) {
    throw new Error(`--out ${out} is a file of the --from source; write the export elsewhere`);
  }
}

export function writeFileAtomic(out: string, text: string): void {
  const path = resolve(out);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
}
