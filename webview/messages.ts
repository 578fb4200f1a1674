// The messages between the runs dashboard (webview) and the extension host, typed once here.
// Webview -> host messages cross a trust boundary (the webview renders run data and model output), so
// the host validates each one with these zod schemas before acting. The webview imports this file
// for its types only (`import type`), so zod stays out of the webview bundle.
import { z } from 'zod';
import type { JobDetail, JobInfo } from '../server/protocol/index.js';

/** Most example rows the host reads from an eval's rows.jsonl for one request. */
export const MAX_EXAMPLE_ROWS = 200;
/** Longest text of one example field sent to the webview (the rest is cut, with an ellipsis). */
export const MAX_EXAMPLE_CHARS = 2000;

const jobId = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/);

export const WebviewMessageSchema = z.discriminatedUnion('type', [
  /** The page has loaded (again): send the run list. */
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('refresh') }).strict(),
  z.object({ type: z.literal('getDetail'), jobId }).strict(),
  /** The first `limit` rows of an eval job's rows.jsonl; the host finds the file from the job, never from the webview. */
  z.object({ type: z.literal('getRows'), jobId, limit: z.number().int().min(1).max(MAX_EXAMPLE_ROWS) }).strict(),
  z.object({ type: z.literal('cancel'), jobId }).strict(),
  z.object({ type: z.literal('resume'), jobId }).strict(),
  /** Export a finished training run (and load the model when it is done). */
  z.object({ type: z.literal('export'), jobId }).strict(),
  /** Load an export job's model into the server and make it the default ("Use this model"). */
  z.object({ type: z.literal('useModel'), jobId }).strict(),
  /** Open "Aligner: Evaluate…" with an export job's model chosen. */
  z.object({ type: z.literal('evaluate'), jobId }).strict(),
]);
export type WebviewMessage = z.infer<typeof WebviewMessageSchema>;

/** One corrected example from rows.jsonl, reduced to what the dashboard shows. */
export interface ExampleRow {
  id: string;
  source: string;
  upstream: string;
  question: string;
  answer: string;
  correction: string;
  reference?: string;
}

export type HostMessage =
  /** The whole run list; `connected` false (with `error`) when the server cannot be reached. */
  | { type: 'runs'; jobs: JobInfo[]; connected: boolean; error?: string }
  /** A job's status changed (jobs/status). */
  | { type: 'status'; job: JobInfo }
  /** A job printed a progress event (jobs/event). */
  | { type: 'event'; jobId: string; event: Record<string, unknown> }
  | { type: 'detail'; detail: JobDetail }
  | { type: 'rows'; jobId: string; rows: ExampleRow[]; error?: string }
  /** Show this run (e.g. the one a command just started). */
  | { type: 'select'; jobId: string }
  /** The outcome of a button's action, shown in the page. */
  | { type: 'notice'; level: 'info' | 'error'; message: string };
