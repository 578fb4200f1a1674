// The project's one seeded random number generator: the same seed gives the same numbers on every
// machine (byte-identical test models, reproducible samples for a request's `seed`, reproducible
// bootstrap intervals), so we avoid Math.random and use a small, well-known 32-bit generator.

/** mulberry32: a fast 32-bit PRNG; returns floats in [0, 1). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** One element of `xs`, uniformly. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /**
   * Fills `out` with N(mean, std^2) samples in place. Uses the inverse normal CDF, tabulated and
   * linearly interpolated, on one 32-bit draw per value: ~8x faster than Box-Muller, which matters
   * for the 500M-parameter preset. Tails beyond ~4.3 sigma are clipped, irrelevant for random weights.
   */
  fillNormal(out: Float32Array, std: number, mean = 0): Float32Array {
    const table = normalQuantiles();
    let s = this.state;
    for (let k = 0; k < out.length; k++) {
      // mulberry32, inlined (same sequence as uniform())
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const x = (t ^ (t >>> 14)) >>> 0;
      const i = x >>> 16;
      const z = table[i] + (table[i + 1] - table[i]) * ((x & 0xffff) / 65536);
      out[k] = mean + std * z;
    }
    this.state = s;
    return out;
  }
}

/** The generator as a bare function of floats in [0, 1): one per request in the sampler. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.uniform();
}

let quantiles: Float64Array | null = null;

/** Phi^-1 at k/65536 for k = 0..65536 (ends clamped half a bin inside (0, 1)). */
function normalQuantiles(): Float64Array {
  if (quantiles) return quantiles;
  const n = 65536;
  quantiles = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) quantiles[k] = inverseNormalCdf(Math.min(Math.max(k, 0.5), n - 0.5) / n);
  return quantiles;
}

/** Acklam's rational approximation of the inverse standard normal CDF (relative error < 1.2e-9). */
export function inverseNormalCdf(p: number): number {
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}
