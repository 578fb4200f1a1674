// chrF (Popović 2015) as sacrebleu computes it by default: character n-grams of orders 1..6 with
// whitespace removed, precision and recall averaged over the orders both texts have n-grams of,
// then the F-score with beta = 2 (recall weighted 4x). Sentence level, scaled 0..100.

export const CHRF_ORDER = 6;
export const CHRF_BETA = 2;

/** Counts of the n-grams of `chars` (code points, so astral characters count once). */
function ngramCounts(chars: string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join('');
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  return counts;
}

/** sacrebleu: `''.join(s.split())`. */
const stripWhitespace = (s: string): string[] => Array.from(s.replace(/\s+/gu, ''));

/**
 * chrF of `hypothesis` against `reference`, 0..100. Two texts identical once whitespace is removed
 * score 100 (sacrebleu gives 0 when both are empty; an empty copy of an empty answer is a copy).
 */
export function chrF(hypothesis: string, reference: string, order = CHRF_ORDER, beta = CHRF_BETA): number {
  const hyp = stripWhitespace(hypothesis);
  const ref = stripWhitespace(reference);
  if (hyp.join('') === ref.join('')) return 100;
  let precision = 0;
  let recall = 0;
  let effectiveOrder = 0;
  for (let n = 1; n <= order; n++) {
    const h = ngramCounts(hyp, n);
    const r = ngramCounts(ref, n);
    const hypTotal = hyp.length - n + 1;
    const refTotal = ref.length - n + 1;
    if (hypTotal <= 0 || refTotal <= 0) continue;
    let matches = 0;
    for (const [g, c] of h) matches += Math.min(c, r.get(g) ?? 0);
    precision += matches / hypTotal;
    recall += matches / refTotal;
    effectiveOrder++;
  }
  if (effectiveOrder === 0) return 0;
  precision /= effectiveOrder;
  recall /= effectiveOrder;
  if (precision + recall === 0) return 0;
  const b2 = beta * beta;
  return (100 * ((1 + b2) * precision * recall)) / (b2 * precision + recall);
}

/** Highest chrF of `hypothesis` against any of `references` (0 when there are none). */
export function maxChrF(hypothesis: string, references: readonly string[]): number {
  let best = 0;
  for (const r of references) best = Math.max(best, chrF(hypothesis, r));
  return best;
}
