// Word diff of an answer and its correction for the side-by-side examples (jsdiff, as the review uses).
import { diffWordsWithSpace } from 'diff';

export interface Segment {
  text: string;
  kind: 'same' | 'removed' | 'added';
}

/** The answer's side (unchanged + removed words) and the correction's side (unchanged + added words). */
export function sideBySide(answer: string, correction: string): { before: Segment[]; after: Segment[] } {
  const before: Segment[] = [];
  const after: Segment[] = [];
  for (const part of diffWordsWithSpace(answer, correction)) {
    if (part.added) after.push({ text: part.value, kind: 'added' });
    else if (part.removed) before.push({ text: part.value, kind: 'removed' });
    else {
      before.push({ text: part.value, kind: 'same' });
      after.push({ text: part.value, kind: 'same' });
    }
  }
  return { before, after };
}
