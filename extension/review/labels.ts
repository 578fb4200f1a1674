// Short human labels for hunks (CodeLens titles). Pure, so the e2e test can find a hunk's lens.
import type { RawHunk } from './hunks.js';

function short(text: string, max = 24): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** "“cat” → “dog”", "delete “very”", "insert “quite”": tells hunks on the same line apart. */
export function describeHunk(h: Pick<RawHunk, 'oldText' | 'newText'>): string {
  if (!h.oldText.trim() && h.newText.trim()) return `insert “${short(h.newText)}”`;
  if (!h.newText.trim() && h.oldText.trim()) return `delete “${short(h.oldText)}”`;
  if (!h.oldText.trim() && !h.newText.trim()) return 'change spacing';
  return `“${short(h.oldText)}” → “${short(h.newText)}”`;
}
