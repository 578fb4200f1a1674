import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReviewSession } from '../../../extension/review/reviewSession.js';
import { planEdits } from '../../../extension/review/applyEdit.js';

const doc = 'Q: What is 2+2?\nA: Two plus two is five, I think.\n';
const answerStart = doc.indexOf('Two');
const answerEnd = doc.indexOf('\n', answerStart);
const corrected = 'Two plus two is four.';

function apply(text: string, change: { offset: number; length: number; text: string }) {
  return text.slice(0, change.offset) + change.text + text.slice(change.offset + change.length);
}

test('streaming: preview decorations, then hunks in document offsets', () => {
  const s = new ReviewSession('word');
  const r = s.addRegion(doc, answerStart, answerEnd, 'What is 2+2?', 'req-1');
  s.appendDelta(r.id, 'Two plus two is fo');
  const preview = s.decorations();
  assert.equal(preview.progress.length, 1);
  assert.ok(preview.pending.length === 1, 'the unreached tail is pending, not removed');
  assert.ok(s.isStreaming);
  const { added, lost } = s.finishRegion(r.id, corrected, doc);
  assert.equal(lost, 0);
  assert.ok(added.length >= 1);
  for (const h of added) assert.equal(doc.slice(h.start, h.end), h.oldText);
  assert.equal(s.proposedText(doc), doc.replace('Two plus two is five, I think.', corrected));
  assert.equal(s.isStreaming, false);
});

test('edits above a pending hunk shift it; it still applies to its own text', () => {
  const s = new ReviewSession('word');
  const r = s.addRegion(doc, answerStart, answerEnd, 'q', 'req-1');
  s.finishRegion(r.id, corrected, doc);
  const change = { offset: 0, length: 0, text: '# Quiz\n' };
  const edited = apply(doc, change);
  s.applyChange(change);
  const plan = planEdits(edited, s.hunks);
  assert.equal(plan.refused.length, 0);
  let out = edited;
  for (const e of [...plan.edits].reverse()) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  assert.equal(out, '# Quiz\n' + doc.replace('Two plus two is five, I think.', corrected));
});

test('an edit inside the region while streaming: hunks re-found by context, or dropped and counted', () => {
  const s = new ReviewSession('word');
  const r = s.addRegion(doc, answerStart, answerEnd, 'q', 'req-1');
  // The user deletes ", I think" while the correction streams.
  const at = doc.indexOf(', I think');
  const change = { offset: at, length: ', I think'.length, text: '' };
  const edited = apply(doc, change);
  s.applyChange(change);
  assert.equal(s.regions.get(r.id)!.touched, true);
  const { added, lost } = s.finishRegion(r.id, corrected, edited);
  for (const h of added) assert.equal(edited.slice(h.start, h.end), h.oldText, 'never anchored on other text');
  assert.ok(added.length + lost >= 1);
});

test('overlap detection, navigation, hunkAt, reject removes the region when empty', () => {
  const s = new ReviewSession('word');
  const r = s.addRegion(doc, answerStart, answerEnd, 'q', 'req-1');
  assert.ok(s.overlaps(answerStart + 2, answerStart + 3));
  assert.ok(!s.overlaps(0, 2));
  s.finishRegion(r.id, 'Two plus two is four. Definitely, I think.', doc);
  const hs = s.hunks;
  assert.ok(hs.length >= 1);
  assert.equal(s.nextHunk(0)?.id, hs[0]!.id);
  assert.equal(s.previousHunk(0)?.id, hs[hs.length - 1]!.id, 'wraps around');
  assert.equal(s.hunkAt(hs[0]!.start)?.id, hs[0]!.id);
  s.removeHunks(hs.map((h) => h.id));
  assert.ok(s.isEmpty);
});

test('a cancelled or failed region leaves nothing behind', () => {
  const s = new ReviewSession('line');
  const r = s.addRegion(doc, answerStart, answerEnd, 'q', 'req-9');
  s.appendDelta(r.id, 'partial');
  s.dropRegion(r.id);
  assert.ok(s.isEmpty);
  assert.deepEqual(s.decorations(), { removed: [], added: [], pending: [], progress: [] });
});

test('accepting a neighbour refreshes the context of an insertion hunk next to it', () => {
  const text = 'a b c d';
  const s = new ReviewSession('word');
  const r = s.addRegion(text, 0, text.length, 'q', 'req-1');
  s.finishRegion(r.id, 'A b C d', text);
  assert.equal(s.hunks.length, 2);
  // accept the first one by hand, then refresh
  const first = s.hunks[0]!;
  const edited = text.slice(0, first.start) + first.newText + text.slice(first.end);
  s.applyChange({ offset: first.start, length: first.end - first.start, text: first.newText });
  s.removeHunks([first.id]);
  s.refreshAnchors(edited);
  assert.equal(planEdits(edited, s.hunks).refused.length, 0);
});
