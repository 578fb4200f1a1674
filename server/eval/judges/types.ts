// The judge plug-in interface: a judge decides whether it applies to a row, scores one corrected
// row (its fields go into rows.jsonl under its name), and summarises its fields over a group.
import type { AlignerService } from '../../engine/api.js';
import type { TemplateName } from '../../protocol/index.js';
import type { Stat } from '../metrics/bootstrap.js';
import type { AnsweredRow, Correction, JudgeFields } from '../types.js';

export interface JudgeContext {
  service: AlignerService;
  /** Engine model id (the default model when undefined). */
  model?: string;
  template?: TemplateName;
  signal?: AbortSignal;
}

/** Mean with a bootstrap interval over the values given (one per row). */
export type StatFn = (values: number[]) => Stat;

/**
 * A judge's summary of a group. `improvementPct` is the paper's "improvement" where it applies:
 * % of rows where the correction is better minus % where it is worse (see docs/eval.md).
 */
export interface JudgeSummary {
  n: number;
  improvementPct?: Stat;
  [metric: string]: unknown;
}

export interface Judge<F extends JudgeFields = JudgeFields> {
  readonly name: string;
  /** One line for the docs and summary.md. */
  readonly description: string;
  applies(row: AnsweredRow): boolean;
  judge(row: AnsweredRow, correction: Correction, ctx: JudgeContext): Promise<F>;
  summarize(fields: F[], stat: StatFn): JudgeSummary;
}

/** Judges picked with --judge; `basic` and `speed` always run. */
export const SELECTABLE_JUDGES = ['reference', 'preference', 'harmlessness', 'honesty', 'llm'] as const;
export type SelectableJudge = (typeof SELECTABLE_JUDGES)[number];

/** Counts how often each value occurs. */
export function countBy<T extends string>(values: readonly T[], keys: readonly T[]): Record<T, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<T, number>;
  for (const v of values) out[v]++;
  return out;
}

/** Sign of a difference, as a paper-style outcome: 1 better, 0 same, -1 worse. */
export const sign = (x: number): -1 | 0 | 1 => (x > 0 ? 1 : x < 0 ? -1 : 0);

export const pct = (xs: readonly number[]) => xs.map((x) => x * 100);
