// The dashboard's state and how each host message changes it. No DOM: the views read this store and
// the app re-renders what `apply` says changed, so live events update a chart without a full redraw.
import type { JobDetail, JobInfo } from '../server/protocol/index.js';
import type { ExampleRow, HostMessage } from './messages.js';
import { isFinal, withEvent } from './data/progress.js';
import { parseSummary, type SummaryView } from './data/summary.js';

type Event = Record<string, unknown>;

export interface RunDetail {
  job: JobInfo;
  events: Event[];
  logTail: string;
  summary: SummaryView | null;
}

export type Change =
  | { kind: 'runs' }
  | { kind: 'job'; jobId: string; becameFinal: boolean }
  | { kind: 'event'; jobId: string }
  | { kind: 'detail'; jobId: string }
  | { kind: 'rows'; jobId: string }
  | { kind: 'select'; jobId: string }
  | { kind: 'notice' };

export class DashboardStore {
  runs = new Map<string, JobInfo>();
  connected = false;
  error: string | null = null;
  readonly details = new Map<string, RunDetail>();
  readonly rows = new Map<string, { rows: ExampleRow[]; error?: string }>();
  notice: { level: 'info' | 'error'; message: string } | null = null;

  /** Newest first (job ids start with a timestamp, createdAt is ISO: both sort as text). */
  get runList(): JobInfo[] {
    return [...this.runs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  apply(msg: HostMessage): Change {
    switch (msg.type) {
      case 'runs':
        this.runs = new Map(msg.jobs.map((j) => [j.id, j]));
        this.connected = msg.connected;
        this.error = msg.error ?? null;
        for (const [id, d] of this.details) {
          const j = this.runs.get(id);
          if (j) d.job = j;
        }
        return { kind: 'runs' };
      case 'status': {
        const before = this.runs.get(msg.job.id);
        this.runs.set(msg.job.id, msg.job);
        const d = this.details.get(msg.job.id);
        if (d) d.job = msg.job;
        return {
          kind: 'job',
          jobId: msg.job.id,
          becameFinal: isFinal(msg.job.status) && !isFinal(before?.status ?? ''),
        };
      }
      case 'event': {
        const job = this.runs.get(msg.jobId);
        if (job) this.runs.set(msg.jobId, withEvent(job, msg.event));
        const d = this.details.get(msg.jobId);
        if (d) {
          d.events.push(msg.event);
          d.job = this.runs.get(msg.jobId) ?? d.job;
        }
        return { kind: 'event', jobId: msg.jobId };
      }
      case 'detail':
        this.setDetail(msg.detail);
        return { kind: 'detail', jobId: msg.detail.job.id };
      case 'rows':
        this.rows.set(msg.jobId, { rows: msg.rows, ...(msg.error ? { error: msg.error } : {}) });
        return { kind: 'rows', jobId: msg.jobId };
      case 'select':
        return { kind: 'select', jobId: msg.jobId };
      case 'notice':
        this.notice = { level: msg.level, message: msg.message };
        return { kind: 'notice' };
    }
  }

  private setDetail(detail: JobDetail): void {
    this.runs.set(detail.job.id, detail.job);
    this.details.set(detail.job.id, {
      job: detail.job,
      events: [...detail.events],
      logTail: detail.logTail,
      summary: parseSummary(detail.evalSummary),
    });
  }
}
