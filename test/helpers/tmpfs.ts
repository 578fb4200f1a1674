// A real tmpfs for fault tests (a full or read-only disk), where this process may mount one: root on
// Linux. Tests that need it skip elsewhere; the same faults are also injected through an fs seam.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a tmpfs with `options` (e.g. "size=1m") on a fresh folder; null where we cannot. */
export function mountTmpfs(options: string): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), 'aligner-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

export function unmount(dir: string): void {
  execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

/** Fills the filesystem under `dir` until it has no space left. */
export function fill(dir: string): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    // dd stops with ENOSPC: that is the point
  }
}

export const canMountTmpfs = (() => {
  const probe = mountTmpfs('size=64k');
  if (probe) unmount(probe);
  return probe !== null;
})();
