// ROUGE-L F1 (Lin 2004): longest common subsequence of lower-cased word tokens, where tokens are
// runs of letters and digits (whitespace and punctuation separate them and are dropped).

/** Lower-cased runs of Unicode letters, marks and digits. */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

/** Length of the longest common subsequence; O(n*m) time, O(m) memory. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** ROUGE-L F1 in 0..1; two texts without any token are identical (1), one empty side gives 0. */
export function rougeL(hypothesis: string, reference: string): number {
  const h = rougeTokens(hypothesis);
  const r = rougeTokens(reference);
  if (h.length === 0 && r.length === 0) return 1;
  const lcs = lcsLength(h, r);
  if (lcs === 0) return 0;
  const precision = lcs / h.length;
  const recall = lcs / r.length;
  return (2 * precision * recall) / (precision + recall);
}
