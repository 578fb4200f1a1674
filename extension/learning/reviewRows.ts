// Learning from reviews, the pure part: a finished review becomes one Q-A-C training row, where the
// answer is the text as it was and the correction is that text with the accepted changes applied
// (what the user kept). No vscode import.

/** One line of reviews.jsonl; the trainer reads question/answer/correction and ignores the rest. */
export interface ReviewRow {
  question: string;
  answer: string;
  correction: string;
  source: 'review';
  timestamp: string;
}

/** A reviewed change, in offsets of the original text. */
export interface DecidedHunk {
  start: number;
  end: number;
  oldText: string;
  newText: string;
  accepted: boolean;
}

/** Fewer rows than this make no useful training run (the "Train from My Reviews" threshold). */
export const MIN_REVIEW_ROWS = 20;

/** The original with the accepted hunks applied; null when a hunk does not sit on its text. */
export function applyAccepted(original: string, hunks: readonly DecidedHunk[]): string | null {
  const sorted = [...hunks].sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  for (const h of sorted) {
    if (h.start < pos || h.end > original.length || original.slice(h.start, h.end) !== h.oldText) return null;
    out += original.slice(pos, h.start) + (h.accepted ? h.newText : h.oldText);
    pos = h.end;
  }
  return out + original.slice(pos);
}

/**
 * The training row for a finished review, or null when there is nothing to learn from it: no
 * question or answer, a correction that is empty, or hunks that no longer match the text.
 * A review where every change was rejected still counts: it teaches the model to keep a good answer.
 */
export function buildReviewRow(
  review: { question: string; original: string; hunks: readonly DecidedHunk[] },
  now: Date = new Date(),
): ReviewRow | null {
  if (!review.question.trim() || !review.original.trim() || review.hunks.length === 0) return null;
  const correction = applyAccepted(review.original, review.hunks);
  if (correction === null || !correction.trim()) return null;
  return {
    question: review.question,
    answer: review.original,
    correction,
    source: 'review',
    timestamp: now.toISOString(),
  };
}

/** Usable rows in a reviews.jsonl text (torn or foreign lines are not counted). */
export function countReviewRows(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as Partial<ReviewRow>;
      if (
        typeof r.question === 'string' &&
        typeof r.answer === 'string' &&
        typeof r.correction === 'string' &&
        r.correction.trim()
      )
        n++;
    } catch {
      // a line cut short by a crash
    }
  }
  return n;
}
