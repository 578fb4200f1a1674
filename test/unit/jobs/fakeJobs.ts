// Plumbing for job manager tests without the trainer: a stand-in `aligner` CLI that reports progress
// and waits for the test's word to finish, and a registry disk the test can fill or make read-only.
import * as nodeFs from 'node:fs';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobManager } from '../../../server/jobs/jobManager.js';
import type { RegistryWrites } from '../../../server/jobs/runRegistry.js';
import type { JobInfo, JobStatus } from '../../../server/protocol/index.js';

/**
 * A CLI for jobs: marks its output folder `ran`, prints a progress event and a stderr line, then
 * waits for `<job dir>/release`: "quiet" exits 0 at once; anything else prints a last event and
 * stderr line first and exits with that code.
 */
const FAKE_CLI = `
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const args = process.argv.slice(2);
const out = args[args.indexOf('--out') + 1];
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'ran'), '1');
console.log(JSON.stringify({ event: 'eval-progress', done: 0, total: 1 }));
console.error('working');
const release = join(dirname(out), 'release');
const poll = setInterval(() => {
  if (!existsSync(release)) return;
  clearInterval(poll);
  const word = readFileSync(release, 'utf8');
  if (word === 'quiet') process.exit(0);
  console.log(JSON.stringify({ event: 'eval-progress', done: 1, total: 1 }));
  console.error('finishing');
  setTimeout(() => process.exit(Number(word) || 0), 50);
}, 20);
`;

export function fakeCli(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-fake-cli-'));
  const path = join(dir, 'aligner.mjs');
  writeFileSync(path, FAKE_CLI);
  return path;
}

export type Fault = 'ENOSPC' | 'EROFS' | null;

const FAULT_TEXT = { ENOSPC: 'no space left on device', EROFS: 'read-only file system' };

/** The registry's writes through node:fs, failing as a full or read-only disk would while `fault` is set. */
export function faultyDisk(): { writes: RegistryWrites; fault: Fault; failures: number } {
  const disk = { writes: {} as RegistryWrites, fault: null as Fault, failures: 0 };
  const names = ['mkdirSync', 'writeFileSync', 'renameSync', 'appendFileSync', 'chmodSync'] as const;
  const wrap =
    (name: (typeof names)[number]) =>
    (...args: unknown[]): unknown => {
      if (disk.fault) {
        disk.failures++;
        throw Object.assign(new Error(`${disk.fault}: ${FAULT_TEXT[disk.fault]}, ${name.replace('Sync', '')}`), {
          code: disk.fault,
        });
      }
      return Reflect.apply(nodeFs[name] as (...a: unknown[]) => unknown, nodeFs, args);
    };
  // Unlinking frees space; a full disk allows it.
  disk.writes = {
    ...Object.fromEntries(names.map((n) => [n, wrap(n)])),
    unlinkSync: nodeFs.unlinkSync,
  } as RegistryWrites;
  return disk;
}

/** Resolves with the job once the manager reports it in one of `statuses`. */
export function statusOf(jobs: JobManager, id: string, statuses: JobStatus[], timeoutMs = 20_000): Promise<JobInfo> {
  return new Promise((resolve, reject) => {
    const current = jobs.list().find((j) => j.id === id);
    if (current && statuses.includes(current.status)) return resolve(current);
    const timer = setTimeout(() => {
      jobs.off('status', on);
      reject(new Error(`job ${id} never reached ${statuses.join('/')}`));
    }, timeoutMs);
    const on = (job: JobInfo) => {
      if (job.id !== id || !statuses.includes(job.status)) return;
      clearTimeout(timer);
      jobs.off('status', on);
      resolve(job);
    };
    jobs.on('status', on);
  });
}

export const release = (registry: string, id: string, word: string) =>
  writeFileSync(join(registry, id, 'release'), word);
export const ran = (registry: string, id: string) => existsSync(join(registry, id, 'eval', 'ran'));
