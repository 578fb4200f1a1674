// The summary: every judge's metrics per upstream model, per source file and overall, computed
// from the row records alone (so a resumed run recomputes exactly what an uninterrupted one has).
import { bootstrapMean, type Stat } from '../metrics/bootstrap.js';
import type { Judge, JudgeSummary } from '../judges/types.js';
import type { EvalRow, JudgeFields, RowKind, RowRecord } from '../types.js';
import { hasResult } from '../store/resume.js';

export interface GroupSummary {
  /** Rows of the inputs in this group. */
  rows: number;
  /** Rows corrected and judged. */
  evaluated: number;
  errors: number;
  kinds: Partial<Record<RowKind, number>>;
  /** Judge name -> its summary; judges that applied to no row are left out. */
  judges: Record<string, JudgeSummary>;
  /** Judge name -> rows where it applied but could not judge (see RowRecord.judgeErrors). */
  judgeErrors: Record<string, number>;
}

export interface Groups {
  overall: GroupSummary;
  byUpstream: Record<string, GroupSummary>;
  bySource: Record<string, GroupSummary>;
}

export interface StatOptions {
  resamples: number;
  seed: number;
}

export function summarizeGroup(
  rows: readonly EvalRow[],
  records: ReadonlyMap<string, RowRecord>,
  judges: readonly Judge[],
  opts: StatOptions,
): GroupSummary {
  const done: RowRecord[] = [];
  let errors = 0;
  const kinds: Partial<Record<RowKind, number>> = {};
  for (const row of rows) {
    kinds[row.kind] = (kinds[row.kind] ?? 0) + 1;
    const rec = records.get(row.id);
    if (hasResult(rec)) done.push(rec);
    else if (rec) errors++;
  }
  const judgeErrors: Record<string, number> = {};
  for (const rec of done) {
    for (const name of Object.keys(rec.judgeErrors ?? {})) judgeErrors[name] = (judgeErrors[name] ?? 0) + 1;
  }
  const stat = (values: number[]): Stat => bootstrapMean(values, opts);
  const out: Record<string, JudgeSummary> = {};
  for (const judge of judges) {
    const fields = done.map((r) => r.judges?.[judge.name]).filter((f): f is JudgeFields => f !== undefined);
    if (fields.length > 0) out[judge.name] = judge.summarize(fields, stat);
  }
  return { rows: rows.length, evaluated: done.length, errors, kinds, judges: out, judgeErrors };
}

function groupBy(rows: readonly EvalRow[], key: (r: EvalRow) => string): Map<string, EvalRow[]> {
  const groups = new Map<string, EvalRow[]>();
  for (const r of rows) {
    const k = key(r);
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

/** `rows` in input order: the bootstrap resamples rows by position, so order must not vary. */
export function summarizeGroups(
  rows: readonly EvalRow[],
  records: ReadonlyMap<string, RowRecord>,
  judges: readonly Judge[],
  opts: StatOptions,
): Groups {
  const each = (key: (r: EvalRow) => string) =>
    Object.fromEntries(
      [...groupBy(rows, key)].map(([k, list]) => [k, summarizeGroup(list, records, judges, opts)] as const),
    );
  return {
    overall: summarizeGroup(rows, records, judges, opts),
    byUpstream: each((r) => r.upstream),
    bySource: each((r) => r.source),
  };
}
