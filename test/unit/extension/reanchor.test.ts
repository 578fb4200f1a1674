import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextAround, reanchor, shiftForChange, type Anchor } from '../../../extension/review/reanchor.js';

const doc = 'Intro line.\nThe answer is fourty two, as everyone knows.\nOutro line.\n';

function anchorFor(text: string, oldText: string, nth = 0): Anchor {
  let start = -1;
  for (let i = 0; i <= nth; i++) start = text.indexOf(oldText, start + 1);
  const end = start + oldText.length;
  return { start, end, oldText, ...contextAround(text, start, end) };
}

test('unchanged document: the hunk stays where it was', () => {
  const a = anchorFor(doc, 'fourty two');
  assert.deepEqual(reanchor(doc, a), { ok: true, start: a.start, end: a.end, moved: false });
});

test('edit above the hunk: found again at its new offset', () => {
  const a = anchorFor(doc, 'fourty two');
  const edited = 'A new first line.\n' + doc;
  const r = reanchor(edited, a);
  assert.ok(r.ok);
  assert.equal(r.start, a.start + 18);
  assert.equal(edited.slice(r.start, r.end), 'fourty two');
  assert.equal(r.moved, true);
});

test('edit below the hunk: stays', () => {
  const a = anchorFor(doc, 'fourty two');
  const edited = doc.replace('Outro line.', 'Outro line, changed a lot.');
  assert.deepEqual(reanchor(edited, a), { ok: true, start: a.start, end: a.end, moved: false });
});

test('edit inside the hunk: refused, with the reason', () => {
  const a = anchorFor(doc, 'fourty two');
  const edited = doc.replace('fourty two', 'forty-two');
  const r = reanchor(edited, { ...a, touched: true });
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /"fourty two" it would replace is no longer there/);
});

test('hunk text deleted entirely: refused', () => {
  const a = anchorFor(doc, 'fourty two');
  const r = reanchor(doc.replace('The answer is fourty two, as everyone knows.\n', ''), a);
  assert.equal(r.ok, false);
});

test('the same words elsewhere are not mistaken for the hunk: the nearest with its context wins', () => {
  const text = 'the cat sat. the cat sat. the cat sat.';
  const a = anchorFor(text, 'cat', 1); // the middle one
  const edited = 'XX ' + text;
  const r = reanchor(edited, a);
  assert.ok(r.ok);
  assert.equal(r.start, a.start + 3);
});

test('edit right next to the hunk (inside its context): found by one side of context', () => {
  const a = anchorFor(doc, 'fourty two');
  const edited = doc.replace('as everyone knows', 'as all know');
  const r = reanchor(edited, a);
  assert.ok(r.ok);
  assert.equal(edited.slice(r.start, r.end), 'fourty two');
});

test('pure insertion: needs its surrounding text; refused when both sides changed', () => {
  const text = 'Hello world, how are you today?';
  const at = text.indexOf(' how');
  const a: Anchor = { start: at, end: at, oldText: '', ...contextAround(text, at, at) };
  const moved = '>> ' + text;
  const r = reanchor(moved, a);
  assert.ok(r.ok);
  assert.equal(r.start, at + 3);
  const ruined = 'Something completely different now.';
  assert.equal(reanchor(ruined, a).ok, false);
});

test('shiftForChange: before shifts, after stays, overlap marks touched', () => {
  const h: { start: number; end: number; touched?: boolean } = { start: 10, end: 20 };
  assert.deepEqual(shiftForChange(h, { offset: 0, length: 0, text: 'abc' }), { start: 13, end: 23 });
  assert.deepEqual(shiftForChange(h, { offset: 2, length: 5, text: '' }), { start: 5, end: 15 });
  assert.deepEqual(shiftForChange(h, { offset: 10, length: 0, text: 'x' }), { start: 11, end: 21 }); // typed in front
  assert.deepEqual(shiftForChange(h, { offset: 20, length: 0, text: 'x' }), h); // typed right after
  assert.deepEqual(shiftForChange(h, { offset: 25, length: 3, text: 'yy' }), h);
  const t = shiftForChange(h, { offset: 15, length: 2, text: 'Z' });
  assert.equal(t.touched, true);
  assert.deepEqual([t.start, t.end], [10, 19]);
});
