// Number, time and interval formatting shared by the dashboard views and the progress notifications.

/** A bootstrap statistic from summary.json: mean with its 95% interval (nulls when not computable). */
export interface Stat {
  mean: number | null;
  low: number | null;
  high: number | null;
  n: number;
}

export function isStat(v: unknown): v is Stat {
  return typeof v === 'object' && v !== null && 'mean' in v && 'low' in v && 'high' in v && 'n' in v;
}

const MINUS = '\u2212';

/** Fixed digits, with a real minus sign (tables line up and read as numbers). */
export function fmtNumber(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = Math.abs(v).toFixed(digits);
  return v < 0 && Number(s) !== 0 ? MINUS + s : s;
}

/** "12.5 [3.1, 20.0]": the mean and its 95% interval. */
export function fmtStat(s: Stat | null | undefined, digits = 1): string {
  if (!s || s.mean === null) return '—';
  const ci = s.low === null || s.high === null ? '' : ` [${fmtNumber(s.low, digits)}, ${fmtNumber(s.high, digits)}]`;
  return fmtNumber(s.mean, digits) + ci;
}

/** Seconds left as a short duration: "45 s", "3 min 20 s", "2 h 5 min". */
export function fmtEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** Losses span orders of magnitude early on; 4 significant digits read well at every scale. */
export function fmtLoss(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return Number(v.toPrecision(4)).toString();
}

/** Learning rates are small: scientific notation. */
export function fmtLr(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v === 0 ? '0' : v.toExponential(2);
}

/** An ISO time as local "YYYY-MM-DD HH:MM" (stable width for the run list). */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
