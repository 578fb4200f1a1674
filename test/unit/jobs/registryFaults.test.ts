// The run registry's disk fills up or turns read-only: no registry write may throw into an event
// handler (it would take the whole server down), a job that cannot be recorded is refused and never
// runs, and a registry that cannot be written at all disables jobs instead of the server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobManager, openJobManager } from '../../../server/jobs/jobManager.js';
import type { JobManagerOptions } from '../../../server/jobs/jobManager.js';
import { EngineError } from '../../../server/engine/api.js';
import { ErrorCodes } from '../../../server/protocol/index.js';
import type { JobsStartParams } from '../../../server/protocol/index.js';
import { fakeCli, faultyDisk, ran, release, statusOf } from './fakeJobs.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-registry-faults-'));
after(() => rmSync(root, { recursive: true, force: true }));
const cli = fakeCli();
const data = join(root, 'rows.jsonl');
writeFileSync(data, '{"question":"Q","answer":"A","correction":"C"}\n');
const model = join(root, 'model');
mkdirSync(model);
const evalJob: JobsStartParams = { kind: 'eval', config: { model, data: [data] } };

const managers: JobManager[] = [];
after(() => Promise.all(managers.map((m) => m.close())));

function manager(registryDir: string, extra: Partial<JobManagerOptions> = {}): JobManager {
  const jobs = new JobManager({
    registryDir,
    cliPath: cli,
    allowedRoots: [root],
    killGraceMs: 1000,
    log: () => {},
    ...extra,
  });
  managers.push(jobs);
  return jobs;
}

test('the disk fills while a job runs: the job ends failed, saying why, and the manager keeps working', async () => {
  const registry = join(root, 'full-while-running');
  const disk = faultyDisk();
  const jobs = manager(registry, { registryWrites: disk.writes });
  const job = jobs.start(evalJob);
  await statusOf(jobs, job.id, ['running']);
  disk.fault = 'ENOSPC';
  release(registry, job.id, '0'); // its last event and stderr line cannot be recorded
  const failed = await statusOf(jobs, job.id, ['failed', 'succeeded']);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error ?? '', /run registry could not be written \(ENOSPC/);
  assert.ok(disk.failures > 0);
  // Space again: the same manager starts and finishes the next job.
  disk.fault = null;
  const next = jobs.start(evalJob);
  await statusOf(jobs, next.id, ['running']);
  release(registry, next.id, '0');
  assert.equal((await statusOf(jobs, next.id, ['failed', 'succeeded'])).status, 'succeeded');
});

test('the disk is full when a job ends: no crash; the stale record is repaired on the next start', async () => {
  const registry = join(root, 'full-at-exit');
  const disk = faultyDisk();
  const jobs = manager(registry, { registryWrites: disk.writes });
  const job = jobs.start(evalJob);
  await statusOf(jobs, job.id, ['running']);
  disk.fault = 'ENOSPC';
  release(registry, job.id, 'quiet'); // exits at once: only the close handler writes
  await statusOf(jobs, job.id, ['succeeded', 'failed']);
  assert.equal(JSON.parse(readFileSync(join(registry, job.id, 'job.json'), 'utf8')).status, 'running', 'stale');
  disk.fault = null;
  const reopened = manager(registry);
  const repaired = reopened.list().find((j) => j.id === job.id)!;
  assert.equal(repaired.status, 'interrupted');
  assert.equal(repaired.resumable, true);
});

test('a jobs/start the registry cannot record is refused, and the refused job never runs', async () => {
  const registry = join(root, 'refused');
  const disk = faultyDisk();
  const jobs = manager(registry, { registryWrites: disk.writes });
  disk.fault = 'ENOSPC';
  assert.throws(
    () => jobs.start(evalJob),
    (e: EngineError) => e.code === ErrorCodes.JobError && /not started: .*ENOSPC/.test(e.message),
  );
  assert.deepEqual(jobs.list(), [], 'nothing was queued');
  disk.fault = null;
  // The next job runs; before the fix the refused one, still queued in memory, ran alongside it.
  const next = jobs.start(evalJob);
  await statusOf(jobs, next.id, ['running']);
  release(registry, next.id, '0');
  await statusOf(jobs, next.id, ['succeeded']);
  assert.deepEqual(
    jobs.list().map((j) => j.id),
    [next.id],
  );
  assert.equal(ran(registry, next.id), true);
});

test('a resume the registry cannot record is refused and the job keeps its state', async () => {
  const registry = join(root, 'resume-refused');
  const disk = faultyDisk();
  const jobs = manager(registry, { registryWrites: disk.writes });
  const job = jobs.start(evalJob);
  await statusOf(jobs, job.id, ['running']);
  release(registry, job.id, '3');
  await statusOf(jobs, job.id, ['failed']);
  disk.fault = 'EROFS';
  assert.throws(() => jobs.resume(job.id), /not resumed: .*EROFS/);
  assert.equal(jobs.list()[0]!.status, 'failed');
});

test('a read-only or broken registry disables jobs with the reason; it does not throw', () => {
  const disk = faultyDisk();
  disk.fault = 'EROFS';
  const readOnly = openJobManager({ registryDir: join(root, 'ro'), cliPath: cli, registryWrites: disk.writes });
  assert.equal(readOnly.jobs, null);
  assert.match(readOnly.unavailable ?? '', /jobs are disabled: the run registry .*ro cannot be written \(EROFS/);
  const notAFolder = join(root, 'a-file');
  writeFileSync(notAFolder, 'x');
  const broken = openJobManager({ registryDir: notAFolder, cliPath: cli });
  assert.equal(broken.jobs, null);
  assert.match(broken.unavailable ?? '', /cannot be written \((EEXIST|ENOTDIR)/);
});

test('registry folders are 0700 and its files 0600', async () => {
  const registry = join(root, 'modes');
  const jobs = manager(registry);
  const job = jobs.start(evalJob);
  await statusOf(jobs, job.id, ['running']);
  release(registry, job.id, '0');
  await statusOf(jobs, job.id, ['succeeded']);
  const mode = (p: string) => statSync(p).mode & 0o777;
  assert.equal(mode(registry), 0o700);
  assert.equal(mode(join(registry, job.id)), 0o700);
  for (const file of ['job.json', 'events.jsonl', 'log.txt'])
    assert.equal(mode(join(registry, job.id, file)), 0o600, file);
});
