// Training, export and evaluation jobs as child processes of the `aligner` CLI. Each child runs in
// its own process group (so cancel stops the trainer's own children too); its JSON-line progress
// on stdout is recorded and relayed; jobs queue while the device is busy.
// The registry is a disk that can fill up or turn read-only: no write to it may throw into an event
// handler (that would take the whole server, and every inference connection, down with it). A job
// whose record cannot be written fails; a job that cannot be recorded at all is refused.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EventEmitter } from 'node:events';
import { ErrorCodes } from '../protocol/index.js';
import type { JobDetail, JobEvent, JobInfo, JobsStartParams } from '../protocol/index.js';
import { EngineError } from '../engine/api.js';
import type { AlignerService } from '../engine/api.js';
import { RunRegistry, describeFsError } from './runRegistry.js';
import type { RegistryWrites } from './runRegistry.js';
import { evalArgs, exportArgs, trainArgs } from './jobCommands.js';
import { PathPolicy, checkEndpoint, keyEnvAllowed } from './pathPolicy.js';
import { PARENT_PID_ENV } from '../platform/processEnv.js';

export interface JobManagerOptions {
  registryDir: string;
  /** bin/aligner.js: the CLI each job runs. */
  cliPath: string;
  /** Jobs running at once; the rest wait (one device). */
  maxRunning?: number;
  /** For hot-loading a freshly exported model. */
  service?: AlignerService;
  /** Grace period between SIGTERM and SIGKILL on cancel. */
  killGraceMs?: number;
  /** Folders a job's inputs (data, base model, run or model folder) may come from; the registry always may. */
  allowedRoots?: string[];
  /** Environment variables an eval job may name as an API key, besides the conventional *_API_KEY. */
  allowedKeyEnvs?: string[];
  /** The registry's writes; node:fs unless a test makes the disk full or read-only. */
  registryWrites?: RegistryWrites;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

interface Running {
  child: ChildProcess;
  cancelRequested: boolean;
  lastError: string | null;
  /** Set once a write of this job's record failed: the job is stopped and ends failed with this. */
  registryError: string | null;
}

const ACTIVE = new Set(['queued', 'running']);

function newJobId(kind: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${kind}-${stamp}-${randomBytes(3).toString('hex')}`;
}

const registryFault = (err: unknown) => `the run registry could not be written (${describeFsError(err)})`;

/** A JobManager, or why jobs are unavailable (the registry is read-only, full or not a folder). */
export function openJobManager(
  opts: JobManagerOptions,
): { jobs: JobManager; unavailable: null } | { jobs: null; unavailable: string } {
  try {
    return { jobs: new JobManager(opts), unavailable: null };
  } catch (err) {
    return {
      jobs: null,
      unavailable: `jobs are disabled: the run registry ${opts.registryDir} cannot be written (${describeFsError(err)})`,
    };
  }
}

export class JobManager extends EventEmitter<{ status: [JobInfo]; event: [JobEvent] }> {
  private readonly registry: RunRegistry;
  private readonly jobs = new Map<string, JobInfo>();
  private readonly running = new Map<string, Running>();
  private readonly resumeRequested = new Set<string>();
  private readonly inputs: PathPolicy;
  private readonly keyEnvs: ReadonlySet<string>;
  private readonly log: NonNullable<JobManagerOptions['log']>;
  private closed = false;

  /** Throws when the registry cannot be created or written (see openJobManager). */
  constructor(private readonly opts: JobManagerOptions) {
    super();
    this.log = opts.log ?? ((level, msg) => level !== 'info' && console.error(`[aligner] ${level}: ${msg}`));
    this.registry = new RunRegistry(opts.registryDir, opts.registryWrites);
    this.registry.checkWritable();
    this.inputs = new PathPolicy([...(opts.allowedRoots ?? []), this.registry.root]);
    this.keyEnvs = new Set(opts.allowedKeyEnvs ?? []);
    for (const job of this.registry.loadAll()) {
      // A job that was queued or running when its server stopped did not finish: say so, keep it resumable.
      if (ACTIVE.has(job.status)) {
        job.status = 'interrupted';
        job.endedAt = new Date().toISOString();
        job.resumable = true;
        this.persist(job);
      }
      this.jobs.set(job.id, job);
    }
  }

  list(): JobInfo[] {
    return [...this.jobs.values()];
  }

  get(id: string): JobDetail {
    const job = this.require(id);
    let evalSummary: unknown = null;
    const summary = job.artifacts.evalDir ? join(job.artifacts.evalDir, 'summary.json') : null;
    if (summary && existsSync(summary)) {
      try {
        evalSummary = JSON.parse(readFileSync(summary, 'utf8'));
      } catch {
        evalSummary = null;
      }
    }
    return { job, events: this.registry.events(id), logTail: this.registry.logTail(id), evalSummary };
  }

  start(params: JobsStartParams): JobInfo {
    const id = newJobId(params.kind);
    const dir = this.registry.dir(id);
    const config = this.checkedConfig(params);
    const artifacts: Record<string, string> =
      params.kind === 'train'
        ? { runDir: join(dir, 'run') }
        : params.kind === 'export'
          ? { modelDir: join(dir, 'model'), runDir: this.resolveRunDir(params.config.run) }
          : { evalDir: join(dir, 'eval'), modelDir: this.resolveModelDir(params.config.model) };
    const job: JobInfo = {
      id,
      kind: params.kind,
      name: params.name ?? id,
      status: 'queued',
      config,
      createdAt: new Date().toISOString(),
      startedAt: null,
      endedAt: null,
      exitCode: null,
      latest: null,
      artifacts,
      error: null,
      resumable: false,
    };
    if (params.kind === 'export' && params.loadOnSuccess) job.artifacts.loadOnSuccess = 'true';
    // Recorded before it is queued: a job the registry cannot hold is refused, and never runs.
    const fault = this.persist(job);
    if (fault) throw new EngineError(ErrorCodes.JobError, `the job was not started: ${fault}`);
    this.jobs.set(id, job);
    this.emit('status', job);
    this.pump();
    return { ...job };
  }

  /** The config with every input path confined and resolved, key variables and endpoints checked. */
  private checkedConfig(params: JobsStartParams): JobInfo['config'] {
    const confine = (path: string, what: string) => this.inputs.confine(path, what);
    const keyEnv = (name: string | undefined, what: string) => {
      if (name !== undefined && !keyEnvAllowed(name, this.keyEnvs)) {
        throw new EngineError(
          ErrorCodes.InvalidParams,
          `${what} ${name} is not an allowed key variable (a *_API_KEY name, or one the server was started with --allow-key-env)`,
        );
      }
    };
    switch (params.kind) {
      case 'train': {
        const c = params.config;
        return {
          ...c,
          data: c.data.map((d) => confine(d, 'training data')),
          ...(c.val ? { val: confine(c.val, 'validation data') } : {}),
          ...(c.base ? { base: confine(c.base, 'base model') } : {}),
        };
      }
      case 'export':
        return params.config; // its run is a train job or a confined folder (resolveRunDir)
      case 'eval': {
        const c = params.config;
        keyEnv(c.judgeKeyEnv, 'judgeKeyEnv');
        keyEnv(c.upstreamKeyEnv, 'upstreamKeyEnv');
        if (c.judgeEndpoint) checkEndpoint(c.judgeEndpoint, 'judgeEndpoint');
        if (c.upstreamEndpoint) checkEndpoint(c.upstreamEndpoint, 'upstreamEndpoint');
        return { ...c, data: c.data.map((d) => confine(d, 'eval data')) };
      }
    }
  }

  cancel(id: string): JobInfo {
    const job = this.require(id);
    if (job.status === 'queued') {
      this.finish(job, 'cancelled', null, null);
    } else if (job.status === 'running') {
      const run = this.running.get(id)!;
      run.cancelRequested = true;
      this.killGroup(run.child, 'SIGTERM');
      const timer = setTimeout(() => this.killGroup(run.child, 'SIGKILL'), this.opts.killGraceMs ?? 5000);
      run.child.once('exit', () => clearTimeout(timer));
    } else {
      throw new EngineError(
        ErrorCodes.JobError,
        `job ${id} is ${job.status}; only queued or running jobs can be cancelled`,
        {
          status: job.status,
        },
      );
    }
    return job;
  }

  resume(id: string): JobInfo {
    const job = this.require(id);
    if (!job.resumable || ACTIVE.has(job.status)) {
      throw new EngineError(ErrorCodes.JobError, `job ${id} is ${job.status} and cannot be resumed`, {
        status: job.status,
      });
    }
    const before = { status: job.status, endedAt: job.endedAt, exitCode: job.exitCode, error: job.error };
    job.status = 'queued';
    job.endedAt = null;
    job.exitCode = null;
    job.error = null;
    const fault = this.persist(job);
    if (fault) {
      Object.assign(job, before);
      throw new EngineError(ErrorCodes.JobError, `the job was not resumed: ${fault}`);
    }
    this.resumeRequested.add(id);
    this.emit('status', job);
    this.pump();
    return { ...job };
  }

  /** Stops running children (their jobs become interrupted, resumable later). */
  async close(): Promise<void> {
    this.closed = true;
    const exits = [...this.running.values()].map(
      (run) =>
        new Promise<void>((resolve) => {
          run.child.once('exit', () => resolve());
          this.killGroup(run.child, 'SIGTERM');
          setTimeout(() => this.killGroup(run.child, 'SIGKILL'), this.opts.killGraceMs ?? 5000).unref();
        }),
    );
    await Promise.all(exits);
  }

  private require(id: string): JobInfo {
    const job = this.jobs.get(id);
    if (!job) throw new EngineError(ErrorCodes.JobError, `no job ${id}`);
    return job;
  }

  private resolveRunDir(ref: string): string {
    const job = this.jobs.get(ref);
    if (job) {
      if (job.kind !== 'train') throw new EngineError(ErrorCodes.JobError, `job ${ref} is not a training job`);
      return job.artifacts.runDir!;
    }
    return this.inputs.confine(ref, 'run folder');
  }

  private resolveModelDir(ref: string): string {
    const job = this.jobs.get(ref);
    if (job) {
      if (job.kind !== 'export') throw new EngineError(ErrorCodes.JobError, `job ${ref} is not an export job`);
      return job.artifacts.modelDir!;
    }
    return this.inputs.confine(ref, 'model folder');
  }

  /** Saves job.json; returns why it could not be saved (the record on disk is then stale). */
  private persist(job: JobInfo): string | null {
    try {
      this.registry.save(job);
      return null;
    } catch (err) {
      const fault = registryFault(err);
      this.log('warn', `job ${job.id}: ${fault}`);
      return fault;
    }
  }

  /**
   * Saves and announces a status change. A record that cannot be saved is left stale on disk (a
   * stale "running" becomes "interrupted" on the next start); the job's state here is still right.
   */
  private update(job: JobInfo): void {
    this.persist(job);
    this.emit('status', job);
  }

  /** A write for a running job; the first that fails stops the job, which then ends failed. */
  private record(job: JobInfo, run: Running, write: () => void): void {
    try {
      write();
    } catch (err) {
      if (run.registryError) return;
      run.registryError = registryFault(err);
      this.log('warn', `job ${job.id}: ${run.registryError}; stopping it`);
      this.killGroup(run.child, 'SIGTERM');
      setTimeout(() => this.killGroup(run.child, 'SIGKILL'), this.opts.killGraceMs ?? 5000).unref();
    }
  }

  private pump(): void {
    if (this.closed) return;
    const max = this.opts.maxRunning ?? 1;
    for (const job of this.jobs.values()) {
      if (this.running.size >= max) return;
      if (job.status === 'queued') this.launch(job);
    }
  }

  private argsFor(job: JobInfo): string[] {
    const paths = { dir: this.registry.dir(job.id) };
    const resume = this.resumeRequested.delete(job.id);
    switch (job.kind) {
      case 'train':
        return trainArgs(job.config as never, paths, resume);
      case 'export':
        return exportArgs(job.config as never, job.artifacts.runDir!, paths);
      case 'eval':
        return evalArgs(job.config as never, job.artifacts.modelDir!, paths);
    }
  }

  private launch(job: JobInfo): void {
    const args = this.argsFor(job);
    try {
      this.registry.appendLog(job.id, `$ aligner ${args.join(' ')}\n`);
    } catch (err) {
      this.finish(job, 'failed', null, registryFault(err));
      return;
    }
    const child = spawn(process.execPath, [this.opts.cliPath, ...args], {
      detached: true, // own process group: cancel reaches the trainer's children too
      stdio: ['ignore', 'pipe', 'pipe'],
      // The job stops (its whole group) if this server dies without stopping it (parentWatch.ts).
      env: { ...process.env, PYTHONUNBUFFERED: '1', [PARENT_PID_ENV]: String(process.pid) },
    });
    const run: Running = { child, cancelRequested: false, lastError: null, registryError: null };
    this.running.set(job.id, run);
    job.status = 'running';
    job.startedAt = new Date().toISOString();
    this.update(job);

    createInterface({ input: child.stdout! }).on('line', (line) => this.onStdout(job, run, line));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.record(job, run, () => this.registry.appendLog(job.id, chunk));
      const lines = chunk.toString('utf8').trim().split('\n');
      if (lines.length && lines[lines.length - 1]) run.lastError = lines[lines.length - 1]!;
    });
    child.on('error', (err) => {
      run.lastError = `cannot start the job: ${err.message}`;
    });
    child.on('close', (code, signal) => {
      this.running.delete(job.id);
      const status = run.cancelRequested
        ? 'cancelled'
        : run.registryError
          ? 'failed'
          : this.closed
            ? 'interrupted'
            : code === 0
              ? 'succeeded'
              : 'failed';
      const error =
        status === 'failed' ? (run.registryError ?? run.lastError ?? `exited with ${code ?? signal}`) : null;
      this.finish(job, status, code, error);
      if (status === 'succeeded') void this.afterSuccess(job);
      this.pump();
    });
  }

  private onStdout(job: JobInfo, run: Running, line: string): void {
    let event: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      event = parsed as Record<string, unknown>;
    } catch {
      this.record(job, run, () => this.registry.appendLog(job.id, line + '\n'));
      return;
    }
    this.record(job, run, () => this.registry.appendEvent(job.id, event));
    if (event.event === 'error' && typeof event.message === 'string') run.lastError = event.message;
    if (event.event === 'step' || event.event === 'eval-progress' || event.event === 'eval') {
      job.latest = { ...(job.latest ?? {}), ...event };
    }
    this.emit('event', { jobId: job.id, event });
  }

  private finish(job: JobInfo, status: JobInfo['status'], exitCode: number | null, error: string | null): void {
    job.status = status;
    job.exitCode = exitCode;
    job.error = error;
    job.endedAt = new Date().toISOString();
    job.resumable = status !== 'succeeded';
    this.update(job);
  }

  private async afterSuccess(job: JobInfo): Promise<void> {
    if (job.kind !== 'export' || job.artifacts.loadOnSuccess !== 'true' || !this.opts.service) return;
    try {
      await this.opts.service.loadModel({ path: job.artifacts.modelDir!, id: job.name, makeDefault: true });
      this.emit('event', { jobId: job.id, event: { event: 'model-loaded', model: job.name } });
    } catch (err) {
      this.emit('event', {
        jobId: job.id,
        event: { event: 'error', message: `hot-load failed: ${(err as Error).message}` },
      });
    }
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined || child.exitCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  }
}
