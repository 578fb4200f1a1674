// Small text helpers shared by the judges.

/** Collapses whitespace runs to one space and trims, so re-wrapped text still counts as a copy. */
export function normalizeWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/** A correction that only changed whitespace is a copy of the answer. */
export function isCopy(answer: string, correction: string): boolean {
  return normalizeWhitespace(answer) === normalizeWhitespace(correction);
}

/** Characters as people count them (code points). */
export function charLength(text: string): number {
  return Array.from(text).length;
}

/** Cuts long text for logs and row records. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
