// A job's progress from its status and events: the fraction done, the ETA, and one line of text.
// Used by the dashboard (progress bar, run list) and by the extension's progress notifications.
import type { JobInfo } from '../../server/protocol/index.js';
import { fmtEta, fmtLoss, num } from './format.js';

type Event = Record<string, unknown>;

export interface Progress {
  /** 0..1, or null when the total is unknown (the bar is then indeterminate). */
  fraction: number | null;
  etaS: number | null;
  /** "step 20/30 · loss 3.04 · ETA 7 s", "12/400 rows · ETA 5 min", "exporting…" */
  text: string;
  /** The latest training step, when there is one. */
  step: number | null;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);
export const isFinal = (status: string): boolean => FINAL.has(status);
export const isActive = (status: string): boolean => status === 'queued' || status === 'running';

function lastOf(events: readonly Event[], name: string): Event | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.event === name) return events[i];
  return undefined;
}

/** Total optimizer steps: the trainer's own count (start event), else the configured max. */
function totalSteps(job: JobInfo, events: readonly Event[]): number | null {
  const start = num(lastOf(events, 'start')?.max_steps);
  if (start !== null) return start;
  return num((job.config as { maxSteps?: unknown }).maxSteps);
}

export function jobProgress(job: JobInfo, events: readonly Event[] = []): Progress {
  const latest: Event = { ...(job.latest ?? {}), ...(lastOf(events, 'step') ?? {}) };
  const eta = isActive(job.status) ? num(latest.eta_s) : null;
  const etaText = eta !== null ? ` · ETA ${fmtEta(eta)}` : '';
  if (job.kind === 'train') {
    const total = totalSteps(job, events);
    const finished = lastOf(events, 'done');
    // A finished run ran to its last step, logged or not.
    // Steps are logged every few steps, evals and checkpoints at others: the furthest one is where it is.
    const reached = [
      latest.step,
      ...events.filter((e) => e.event === 'eval' || e.event === 'checkpoint').map((e) => e.step),
    ]
      .map(num)
      .filter((n): n is number => n !== null);
    const step =
      num(finished?.step) ??
      (job.status === 'succeeded' && total !== null ? total : reached.length ? Math.max(...reached) : null);
    const done = job.status === 'succeeded' || finished !== undefined;
    const fraction = done ? 1 : step !== null && total ? Math.min(1, step / total) : null;
    const loss = num(latest.loss);
    const parts = [
      step === null ? (job.status === 'queued' ? 'queued' : 'starting…') : `step ${step}${total ? `/${total}` : ''}`,
      ...(loss !== null ? [`loss ${fmtLoss(loss)}`] : []),
    ];
    return { fraction, etaS: eta, text: parts.join(' · ') + etaText, step };
  }
  if (job.kind === 'eval') {
    const p: Event = { ...(job.latest ?? {}), ...(lastOf(events, 'eval-progress') ?? {}) };
    const done = num(p.done);
    const total = num(p.total);
    const fraction = job.status === 'succeeded' ? 1 : done !== null && total ? Math.min(1, done / total) : null;
    const pEta = isActive(job.status) ? num(p.eta_s) : null;
    const rows =
      done !== null && total !== null ? `${done}/${total} rows` : job.status === 'queued' ? 'queued' : 'starting…';
    return { fraction, etaS: pEta, text: rows + (pEta !== null ? ` · ETA ${fmtEta(pEta)}` : ''), step: null };
  }
  const exported = job.status === 'succeeded';
  return {
    fraction: exported ? 1 : null,
    etaS: null,
    text: exported ? 'exported' : job.status === 'queued' ? 'queued' : 'exporting…',
    step: null,
  };
}

/** A finished job's outcome in words, for the list and the notifications. */
export function outcomeText(job: JobInfo): string {
  switch (job.status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return `failed${job.error ? `: ${job.error}` : ''}`;
    case 'cancelled':
      return 'cancelled';
    case 'interrupted':
      return 'interrupted (the server stopped); it can be resumed';
    default:
      return job.status;
  }
}

/** Merges a progress event into a job's `latest`, as the server does, so lists update live. */
export function withEvent(job: JobInfo, event: Event): JobInfo {
  if (event.event !== 'step' && event.event !== 'eval-progress' && event.event !== 'eval') return job;
  return { ...job, latest: { ...(job.latest ?? {}), ...event } };
}
