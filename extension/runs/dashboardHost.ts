// The extension-host side of the runs dashboard: validates each message from the webview (zod, from
// webview/messages.ts), answers it from the server, and forwards live job notifications. No vscode
// import: the VS Code parts (starting an export with progress, the Evaluate wizard) are injected.
import { join } from 'node:path';
import type { JobInfo } from '../../server/protocol/index.js';
import {
  WebviewMessageSchema,
  type ExampleRow,
  type HostMessage,
  type WebviewMessage,
} from '../../webview/messages.js';
import type { Logger } from '../serverProcess.js';
import type { JobHub } from './jobHub.js';

export interface DashboardHostDeps {
  hub: Pick<JobHub, 'connection' | 'onStatus' | 'onEvent' | 'onReconnected' | 'onDisconnected'>;
  post(message: HostMessage): void;
  readRows(file: string, limit: number): Promise<ExampleRow[]>;
  /** Starts an export of a finished training run (loaded into the server when done). */
  exportRun(trainJobId: string): Promise<void>;
  /** Opens the Evaluate wizard with an export job's model chosen. */
  evaluate(exportJobId: string): Promise<void>;
  /** Follows a resumed job (a progress notification). */
  track?(job: JobInfo): void;
  log: Logger;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class DashboardHost {
  private readonly unsubscribe: (() => void)[];
  private ready = false;
  /** A run to show once the page has loaded. */
  private pendingSelect: string | null = null;

  constructor(private readonly deps: DashboardHostDeps) {
    const { hub, post } = deps;
    this.unsubscribe = [
      hub.onStatus((job) => post({ type: 'status', job })),
      hub.onEvent((e) => post({ type: 'event', jobId: e.jobId, event: e.event })),
      // After a server restart the list may have changed (jobs interrupted): send it again.
      hub.onReconnected(() => void this.sendRuns()),
      hub.onDisconnected(() =>
        post({ type: 'runs', jobs: [], connected: false, error: 'The Aligner server stopped; reconnecting…' }),
      ),
    ];
  }

  /** Handles one raw message from the webview; anything that does not validate is logged and dropped. */
  async handle(raw: unknown): Promise<void> {
    const parsed = WebviewMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.deps.log.warn(
        `dashboard: ignored an invalid message (${parsed.error.issues.map((i) => i.message).join('; ')})`,
      );
      return;
    }
    try {
      await this.dispatch(parsed.data);
    } catch (err) {
      this.deps.post({ type: 'notice', level: 'error', message: message(err) });
    }
  }

  /** Shows a run (e.g. the one a command just started); waits for the page if it is still loading. */
  select(jobId: string): void {
    if (this.ready) this.deps.post({ type: 'select', jobId });
    else this.pendingSelect = jobId;
  }

  dispose(): void {
    this.unsubscribe.forEach((u) => u());
  }

  private async sendRuns(): Promise<void> {
    try {
      const conn = await this.deps.hub.connection();
      this.deps.post({ type: 'runs', jobs: await conn.listJobs(), connected: true });
    } catch (err) {
      this.deps.post({
        type: 'runs',
        jobs: [],
        connected: false,
        error: `Cannot reach the Aligner server: ${message(err)}`,
      });
    }
  }

  private async dispatch(m: WebviewMessage): Promise<void> {
    const { post } = this.deps;
    switch (m.type) {
      case 'ready':
        await this.sendRuns();
        this.ready = true;
        if (this.pendingSelect) post({ type: 'select', jobId: this.pendingSelect });
        this.pendingSelect = null;
        return;
      case 'refresh':
        return this.sendRuns();
      case 'getDetail': {
        const conn = await this.deps.hub.connection();
        post({ type: 'detail', detail: await conn.getJob(m.jobId) });
        return;
      }
      case 'getRows':
        return this.sendRows(m.jobId, m.limit);
      case 'cancel': {
        const job = await (await this.deps.hub.connection()).cancelJob(m.jobId);
        post({ type: 'notice', level: 'info', message: `Cancelling ${job.name}…` });
        return;
      }
      case 'resume': {
        const job = await (await this.deps.hub.connection()).resumeJob(m.jobId);
        post({ type: 'notice', level: 'info', message: `Resumed ${job.name} (${job.status}).` });
        this.deps.track?.(job);
        return;
      }
      case 'export':
        return this.deps.exportRun(m.jobId);
      case 'evaluate':
        return this.deps.evaluate(m.jobId);
      case 'useModel':
        return this.useModel(m.jobId);
    }
  }

  /** The rows file is found from the job the server reports, never from a path the webview sends. */
  private async sendRows(jobId: string, limit: number): Promise<void> {
    const { job } = await (await this.deps.hub.connection()).getJob(jobId);
    const evalDir = job.kind === 'eval' ? job.artifacts.evalDir : undefined;
    if (!evalDir) {
      this.deps.post({ type: 'rows', jobId, rows: [], error: `${job.name} is not an evaluation.` });
      return;
    }
    try {
      this.deps.post({ type: 'rows', jobId, rows: await this.deps.readRows(join(evalDir, 'rows.jsonl'), limit) });
    } catch (err) {
      this.deps.post({ type: 'rows', jobId, rows: [], error: `Cannot read the examples: ${message(err)}` });
    }
  }

  private async useModel(jobId: string): Promise<void> {
    const conn = await this.deps.hub.connection();
    const { job } = await conn.getJob(jobId);
    const path = usableModelDir(job);
    const info = await conn.loadModel({ path, id: job.name, makeDefault: true });
    this.deps.post({ type: 'notice', level: 'info', message: `Model ${info.id} is loaded and corrects from now on.` });
  }
}

/** The model folder of a finished export job, or why there is none. */
export function usableModelDir(job: JobInfo): string {
  if (job.kind !== 'export') throw new Error(`${job.name} is a ${job.kind} job; export it first.`);
  if (job.status !== 'succeeded') throw new Error(`${job.name} has not finished exporting (${job.status}).`);
  const dir = job.artifacts.modelDir;
  if (!dir) throw new Error(`${job.name} has no model folder.`);
  return dir;
}
