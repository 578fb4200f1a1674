// Q-A-C rows for the speculation figure: answers whose reference correction is a near copy (where
// prompt-lookup drafts should be accepted by a trained model) and others.
import { existsSync, readFileSync } from 'node:fs';
import { diffWords } from 'diff';
import { REPO_ROOT } from './context.js';

export interface QacRow {
  question: string;
  answer: string;
  correction: string;
  /** Characters the answer and the correction share (word diff), over their mean length: 1 = identical. */
  similarity: number;
}

/**
 * Aligner-2B's AlpacaEval corrections: the held-out validation split that scripts/train-default-model.sh
 * writes when it is there (the default model never saw those rows), else the shared data file.
 */
const VAL_SPLIT = new URL('runs/default-data/alpaca_val.jsonl', REPO_ROOT);
export const QAC_IS_HELD_OUT = existsSync(VAL_SPLIT);
export const QAC_PATH = QAC_IS_HELD_OUT
  ? VAL_SPLIT
  : new URL('../shared/data/qac/alpacaeval_aligner2b.train.jsonl', REPO_ROOT);

export function similarity(a: string, b: string): number {
  const common = diffWords(a, b).reduce((n, p) => n + (p.added || p.removed ? 0 : p.value.length), 0);
  return (2 * common) / Math.max(1, a.length + b.length);
}

/**
 * Up to `perGroup` rows with similarity >= `nearCopy` and as many below it, in file order, among
 * rows whose answer has `minChars`..`maxChars` characters (short enough to prefill quickly).
 */
export function pickRows(
  path: string | URL,
  perGroup: number,
  { nearCopy = 0.9, minChars = 300, maxChars = 1200 } = {},
): { near: QacRow[]; other: QacRow[] } | null {
  if (!existsSync(path)) return null;
  const near: QacRow[] = [];
  const other: QacRow[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (near.length >= perGroup && other.length >= perGroup) break;
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { question: string; answer: string; correction: string };
    if (r.answer.length < minChars || r.answer.length > maxChars || !r.correction) continue;
    const row = { question: r.question, answer: r.answer, correction: r.correction, similarity: 0 };
    row.similarity = similarity(r.answer, r.correction);
    const group = row.similarity >= nearCopy ? near : other;
    if (group.length < perGroup) group.push(row);
  }
  return { near, other };
}
