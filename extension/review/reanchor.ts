// Keeps a hunk attached to the text it was computed for while the user keeps editing.
// Pure (no vscode). Two tools: `shiftForChange` follows each document change precisely;
// `reanchor` verifies (and if needed re-finds) the hunk's original text right before applying,
// so a hunk is never applied to text other than the one it was computed for.

/** Where a hunk sits in the document, plus the text around it when it was computed. */
export interface Anchor {
  start: number;
  end: number;
  /** The document text in [start, end) when the hunk was computed. */
  oldText: string;
  /** Up to CONTEXT_CHARS of document text right before `start` / right after `end`. */
  before: string;
  after: string;
  /** An edit overlapped the hunk since it was computed: its position alone proves nothing. */
  touched?: boolean;
}

export const CONTEXT_CHARS = 32;
/** How far from its last known offset a moved hunk's text is searched for. */
export const SEARCH_WINDOW = 4000;

export function contextAround(text: string, start: number, end: number): { before: string; after: string } {
  return {
    before: text.slice(Math.max(0, start - CONTEXT_CHARS), start),
    after: text.slice(end, end + CONTEXT_CHARS),
  };
}

/** One document change in offsets of the text before it (like VS Code's rangeOffset/rangeLength). */
export interface OffsetChange {
  offset: number;
  length: number;
  text: string;
}

/**
 * Moves [start, end) through one change. Changes entirely before shift it; entirely after leave it;
 * anything overlapping marks it touched (its text may be gone; `reanchor` decides at apply time).
 * An insertion exactly at `start` counts as before (the new text is typed in front of the hunk).
 */
export function shiftForChange<T extends { start: number; end: number; touched?: boolean }>(
  range: T,
  change: OffsetChange,
): T {
  const changeEnd = change.offset + change.length;
  const delta = change.text.length - change.length;
  if (changeEnd <= range.start) return { ...range, start: range.start + delta, end: range.end + delta };
  if (change.offset >= range.end) return range;
  // Overlap: keep a range that covers both, flagged.
  const start = Math.min(range.start, change.offset);
  const end = Math.max(range.end + delta, change.offset + change.text.length);
  return { ...range, start, end, touched: true };
}

export type AnchorResult = { ok: true; start: number; end: number; moved: boolean } | { ok: false; reason: string };

function preview(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 40 ? `${one.slice(0, 37)}…` : one;
}

/** All indexes of `needle` in text whose start lies within [from, to]. */
function occurrences(text: string, needle: string, from: number, to: number): number[] {
  const found: number[] = [];
  if (!needle) return found;
  let i = text.indexOf(needle, Math.max(0, from));
  while (i !== -1 && i <= to) {
    found.push(i);
    i = text.indexOf(needle, i + 1);
  }
  return found;
}

function nearest(candidates: number[], target: number): number | undefined {
  let best: number | undefined;
  for (const c of candidates) if (best === undefined || Math.abs(c - target) < Math.abs(best - target)) best = c;
  return best;
}

/**
 * Finds where the hunk's original text is now. Order of evidence:
 * 1. untouched and the text at its position is still `oldText` (for a pure insertion, one side of
 *    context must also still match, since an empty text matches anywhere);
 * 2. the full anchor `before + oldText + after`, nearest to the old position;
 * 3. `oldText` with one full side of context, nearest to the old position.
 * Otherwise the hunk is refused with a reason the user can read.
 */
export function reanchor(text: string, a: Anchor, window = SEARCH_WINDOW): AnchorResult {
  const len = a.oldText.length;
  const sideMatches = (start: number): boolean =>
    (a.before.length > 0 && text.slice(start - a.before.length, start) === a.before) ||
    (a.after.length > 0 && text.slice(start + len, start + len + a.after.length) === a.after) ||
    (a.before.length === 0 && start === 0) ||
    (a.after.length === 0 && start + len === text.length);

  if (
    !a.touched &&
    a.start >= 0 &&
    a.end <= text.length &&
    a.end - a.start === len &&
    text.slice(a.start, a.end) === a.oldText
  ) {
    if (len > 0 || sideMatches(a.start)) return { ok: true, start: a.start, end: a.end, moved: false };
  }

  const lo = a.start - window;
  const hi = a.start + window;
  const full = a.before + a.oldText + a.after;
  if (full.length > 0) {
    const hit = nearest(occurrences(text, full, lo - a.before.length, hi), a.start - a.before.length);
    if (hit !== undefined) {
      const start = hit + a.before.length;
      return { ok: true, start, end: start + len, moved: start !== a.start };
    }
  }

  const candidates =
    len > 0
      ? occurrences(text, a.oldText, lo, hi)
      : [
          ...occurrences(text, a.before, lo - a.before.length, hi).map((i) => i + a.before.length),
          ...occurrences(text, a.after, lo, hi),
        ];
  const hit = nearest(candidates.filter(sideMatches), a.start);
  if (hit !== undefined) return { ok: true, start: hit, end: hit + len, moved: hit !== a.start };

  return {
    ok: false,
    reason:
      len > 0
        ? `the text "${preview(a.oldText)}" it would replace is no longer there`
        : `the text around this insertion ("${preview(a.before.slice(-20))}…${preview(a.after.slice(0, 20))}") changed`,
  };
}
