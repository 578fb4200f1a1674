// An eval job's summary.json (docs/eval.md) -> the dashboard's tables: one row per judge, one row per
// upstream model and judge, and two summaries side by side. Defensive: the summary comes from a file.
import { isStat, type Stat } from './format.js';

export interface JudgeSummary {
  n?: number;
  [metric: string]: unknown;
}

export interface GroupSummary {
  rows?: number;
  evaluated?: number;
  errors?: number;
  judges: Record<string, JudgeSummary>;
}

export interface SummaryView {
  complete: boolean;
  model: string;
  counts: { rows: number; evaluated: number; errors: number; pending: number };
  overall: GroupSummary;
  byUpstream: Record<string, GroupSummary>;
}

const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function group(v: unknown): GroupSummary | null {
  const g = obj(v);
  const judges = obj(g?.judges);
  if (!g || !judges) return null;
  const out: Record<string, JudgeSummary> = {};
  for (const [name, j] of Object.entries(judges)) if (obj(j)) out[name] = j as JudgeSummary;
  return { rows: g.rows as number, evaluated: g.evaluated as number, errors: g.errors as number, judges: out };
}

/** The parts of summary.json the dashboard uses, or null when it is absent or not a summary. */
export function parseSummary(raw: unknown): SummaryView | null {
  const s = obj(raw);
  const groups = obj(s?.groups);
  const overall = group(groups?.overall);
  if (!s || !groups || !overall) return null;
  const byUpstream: Record<string, GroupSummary> = {};
  for (const [name, g] of Object.entries(obj(groups.byUpstream) ?? {})) {
    const parsed = group(g);
    if (parsed) byUpstream[name] = parsed;
  }
  const c = obj(s.counts) ?? {};
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  return {
    complete: s.complete === true,
    model: String(obj(s.model)?.id ?? ''),
    counts: { rows: n(c.rows), evaluated: n(c.evaluated), errors: n(c.errors), pending: n(c.pending) },
    overall,
    byUpstream,
  };
}

/** Each judge's headline: the paper's improvement where it applies, else its main measure. */
const HEADLINES: [metric: string, label: string][] = [
  ['improvementPct', 'improvement %'],
  ['accuracyPerTokenPct', 'accuracy per token %'],
  ['copyRatePct', 'copy rate %'],
  ['tokensPerSecond', 'tokens/s'],
];

export interface Headline {
  metric: string;
  label: string;
  value: Stat | null;
}

export function headline(j: JudgeSummary): Headline | null {
  for (const [metric, label] of HEADLINES) if (isStat(j[metric])) return { metric, label, value: j[metric] as Stat };
  const first = Object.entries(j).find(([, v]) => isStat(v));
  return first ? { metric: first[0], label: first[0], value: first[1] as Stat } : null;
}

/** "win 3 · tie 1 · lose 0 · invalid 0" from a judge's `counts` (or its truncation count). */
export function countsText(j: JudgeSummary): string {
  const c = obj(j.counts);
  if (c)
    return Object.entries(c)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(' · ');
  if (typeof j.truncated === 'number') return `truncated ${j.truncated}`;
  return '';
}

export interface JudgeRow {
  judge: string;
  n: number;
  metric: string;
  value: Stat | null;
  counts: string;
}

/** One row per judge of a group, in the order the summary lists them. */
export function judgeRows(g: GroupSummary): JudgeRow[] {
  return Object.entries(g.judges).map(([judge, j]) => {
    const h = headline(j);
    return {
      judge,
      n: typeof j.n === 'number' ? j.n : 0,
      metric: h?.label ?? '',
      value: h?.value ?? null,
      counts: countsText(j),
    };
  });
}

export interface UpstreamRow {
  upstream: string;
  judge: string;
  n: number;
  improvement: Stat;
  counts: string;
}

/** Per upstream model, every judge that measures an improvement (the paper's table). */
export function upstreamRows(s: SummaryView): UpstreamRow[] {
  const rows: UpstreamRow[] = [];
  for (const [upstream, g] of Object.entries(s.byUpstream)) {
    for (const [judge, j] of Object.entries(g.judges)) {
      if (!isStat(j.improvementPct)) continue;
      rows.push({
        upstream,
        judge,
        n: typeof j.n === 'number' ? j.n : 0,
        improvement: j.improvementPct,
        counts: countsText(j),
      });
    }
  }
  return rows;
}

export interface CompareRow {
  judge: string;
  metric: string;
  a: Stat | null;
  b: Stat | null;
  /** b − a, when both means exist. */
  delta: number | null;
}

/** Two eval runs' overall headlines side by side, over the judges either has. */
export function compareSummaries(a: SummaryView, b: SummaryView): CompareRow[] {
  const judges = [...new Set([...Object.keys(a.overall.judges), ...Object.keys(b.overall.judges)])];
  return judges.map((judge) => {
    const ja = a.overall.judges[judge];
    const jb = b.overall.judges[judge];
    const h = headline(ja ?? jb ?? {});
    const pick = (j: JudgeSummary | undefined) => (h && j && isStat(j[h.metric]) ? (j[h.metric] as Stat) : null);
    const sa = pick(ja);
    const sb = pick(jb);
    const delta = sa?.mean != null && sb?.mean != null ? sb.mean - sa.mean : null;
    return { judge, metric: h?.label ?? '', a: sa, b: sb, delta };
  });
}
