// Training, export and evaluation jobs as child processes of the `aligner` CLI. Each child runs in
// its own process group (so cancel stops the trainer's own children too); its JSON-line progress
// on stdout is recorded and relayed; jobs queue while the device is busy.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EventEmitter } from 'node:events';
import { ErrorCodes } from '../protocol/index.js';
import type { JobDetail, JobEvent, JobInfo, JobsStartParams } from '../protocol/index.js';
import { EngineError } from '../engine/api.js';
import type { AlignerService } from '../engine/api.js';
import { RunRegistry } from './runRegistry.js';
import { evalArgs, exportArgs, trainArgs } from './jobCommands.js';

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
}

interface Running {
  child: ChildProcess;
  cancelRequested: boolean;
  lastError: string | null;
}

const ACTIVE = new Set(['queued', 'running']);

function newJobId(kind: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${kind}-${stamp}-${randomBytes(3).toString('hex')}`;
}

export class JobManager extends EventEmitter<{ status: [JobInfo]; event: [JobEvent] }> {
  private readonly registry: RunRegistry;
  private readonly jobs = new Map<string, JobInfo>();
  private readonly running = new Map<string, Running>();
  private readonly resumeRequested = new Set<string>();
  private closed = false;

  constructor(private readonly opts: JobManagerOptions) {
    super();
    this.registry = new RunRegistry(opts.registryDir);
    for (const job of this.registry.loadAll()) {
      // A job that was queued or running when its server stopped did not finish: say so, keep it resumable.
      if (ACTIVE.has(job.status)) {
        job.status = 'interrupted';
        job.endedAt = new Date().toISOString();
        job.resumable = true;
        this.registry.save(job);
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
      config: params.config,
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
    this.jobs.set(id, job);
    this.update(job);
    this.pump();
    return { ...job };
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
    this.resumeRequested.add(id);
    job.status = 'queued';
    job.endedAt = null;
    job.exitCode = null;
    job.error = null;
    this.update(job);
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
    return ref;
  }

  private resolveModelDir(ref: string): string {
    const job = this.jobs.get(ref);
    if (job) {
      if (job.kind !== 'export') throw new EngineError(ErrorCodes.JobError, `job ${ref} is not an export job`);
      return job.artifacts.modelDir!;
    }
    return ref;
  }

  private update(job: JobInfo): void {
    this.registry.save(job);
    this.emit('status', job);
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
    const log = this.registry.logFile(job.id);
    appendFileSync(log, `$ aligner ${args.join(' ')}\n`);
    const child = spawn(process.execPath, [this.opts.cliPath, ...args], {
      detached: true, // own process group: cancel reaches the trainer's children too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    const run: Running = { child, cancelRequested: false, lastError: null };
    this.running.set(job.id, run);
    job.status = 'running';
    job.startedAt = new Date().toISOString();
    this.update(job);

    createInterface({ input: child.stdout! }).on('line', (line) => this.onStdout(job, run, line));
    child.stderr!.on('data', (chunk: Buffer) => {
      appendFileSync(log, chunk);
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
        : this.closed
          ? 'interrupted'
          : code === 0
            ? 'succeeded'
            : 'failed';
      const error = status === 'failed' ? (run.lastError ?? `exited with ${code ?? signal}`) : null;
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
      appendFileSync(this.registry.logFile(job.id), line + '\n');
      return;
    }
    this.registry.appendEvent(job.id, event);
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
