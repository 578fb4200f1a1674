// Hunk computation: turns (original, corrected) into the smallest reviewable edits.
// Pure (no vscode): offsets are string offsets into `original`.
import { diffLines, diffWordsWithSpace, type ChangeObject } from 'diff';

export type Granularity = 'word' | 'line';

/** One reviewable change: replace original[start, end) (`oldText`) with `newText`. */
export interface RawHunk {
  start: number;
  end: number;
  oldText: string;
  newText: string;
}

function diffParts(original: string, corrected: string, granularity: Granularity): ChangeObject<string>[] {
  return granularity === 'line' ? diffLines(original, corrected) : diffWordsWithSpace(original, corrected);
}

/**
 * Word diffs split "is big" -> "was huge" into two hunks around the shared space; reviewers
 * think of that as one edit, so hunks separated only by a short run of spaces/tabs are joined.
 */
const JOINABLE_GAP = /^[ \t]{1,2}$/;

export function computeHunks(original: string, corrected: string, granularity: Granularity): RawHunk[] {
  const hunks: RawHunk[] = [];
  let pos = 0; // offset in original
  let current: RawHunk | null = null;
  for (const part of diffParts(original, corrected, granularity)) {
    if (!part.added && !part.removed) {
      current = null;
      pos += part.value.length;
      continue;
    }
    if (!current) {
      current = { start: pos, end: pos, oldText: '', newText: '' };
      hunks.push(current);
    }
    if (part.removed) {
      current.oldText += part.value;
      pos += part.value.length;
      current.end = pos;
    } else {
      current.newText += part.value;
    }
  }
  return granularity === 'word' ? joinAcrossSpaces(original, hunks) : hunks;
}

function joinAcrossSpaces(original: string, hunks: RawHunk[]): RawHunk[] {
  const out: RawHunk[] = [];
  for (const h of hunks) {
    const prev = out[out.length - 1];
    const gap = prev ? original.slice(prev.end, h.start) : '';
    if (prev && JOINABLE_GAP.test(gap)) {
      prev.oldText += gap + h.oldText;
      prev.newText += gap + h.newText;
      prev.end = h.end;
    } else {
      out.push({ ...h });
    }
  }
  return out;
}

/** A preview while the correction is still streaming: the original's tail that the partial
 *  output has not reached yet is `pendingFrom` (not shown as removed), instead of a deletion. */
export interface StreamingPreview {
  hunks: RawHunk[];
  /** Offset in original from which the text is still awaiting the rest of the correction. */
  pendingFrom: number;
}

export function previewHunks(original: string, partial: string, granularity: Granularity): StreamingPreview {
  const hunks = computeHunks(original, partial, granularity);
  const last = hunks[hunks.length - 1];
  if (last && last.end === original.length && last.oldText.length > 0) {
    // The diff says "the rest was deleted" only because the output has not got there yet.
    hunks[hunks.length - 1] = { start: last.start, end: last.start, oldText: '', newText: last.newText };
    if (!last.newText) hunks.pop();
    return { hunks, pendingFrom: last.start };
  }
  return { hunks, pendingFrom: original.length };
}

/** The text after accepting the hunks for which `accept` is true (the others are rejected). */
export function applyHunks(
  original: string,
  hunks: readonly RawHunk[],
  accept: (h: RawHunk, index: number) => boolean,
): string {
  let out = '';
  let pos = 0;
  hunks.forEach((h, i) => {
    out += original.slice(pos, h.start);
    out += accept(h, i) ? h.newText : h.oldText;
    pos = h.end;
  });
  return out + original.slice(pos);
}
