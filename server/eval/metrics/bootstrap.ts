// Percentile bootstrap of a mean over rows: resample the rows with replacement B times, take the
// 2.5th and 97.5th percentiles of the resampled means. Seeded (mulberry32), so a summary
// recomputed from the same rows is identical.
import { Rng } from '../../util/rng.js';

/** Resamples behind every interval the harness reports, unless a run asks for another count. */
export const BOOTSTRAP_RESAMPLES = 1000;

/** A mean with its bootstrap interval; null fields when there are no values. */
export interface Stat {
  mean: number | null;
  low: number | null;
  high: number | null;
  n: number;
}

export interface BootstrapOptions {
  /** Number of resamples (0 gives no interval). */
  resamples: number;
  seed: number;
  /** Two-sided level; 0.95 by default. */
  confidence?: number;
}

/** Linear-interpolated quantile of sorted values (numpy's default method). */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function bootstrapMean(values: readonly number[], opts: BootstrapOptions): Stat {
  const n = values.length;
  if (n === 0) return { mean: null, low: null, high: null, n };
  const m = mean(values);
  if (opts.resamples <= 0) return { mean: m, low: null, high: null, n };
  // Every statistic restarts from the seed: results do not depend on the order metrics are computed.
  const rng = new Rng(opts.seed);
  const means = new Array<number>(opts.resamples);
  for (let b = 0; b < opts.resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)]!;
    means[b] = s / n;
  }
  means.sort((a, b) => a - b);
  const alpha = 1 - (opts.confidence ?? 0.95);
  return { mean: m, low: quantile(means, alpha / 2), high: quantile(means, 1 - alpha / 2), n };
}
