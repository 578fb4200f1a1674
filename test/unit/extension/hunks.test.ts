import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHunks, computeHunks, previewHunks } from '../../../extension/review/hunks.js';

test('word hunks: one per edited phrase, offsets point into the original', () => {
  const original = 'The capital of France is Lyon. It is big.';
  const corrected = 'The capital of France is Paris. It is very big.';
  const hunks = computeHunks(original, corrected, 'word');
  assert.equal(hunks.length, 2);
  for (const h of hunks) assert.equal(original.slice(h.start, h.end), h.oldText);
  assert.deepEqual(
    hunks.map((h) => [h.oldText, h.newText]),
    [
      ['Lyon', 'Paris'],
      ['', 'very '],
    ],
  );
});

test('word hunks separated only by a space are joined into one edit', () => {
  const hunks = computeHunks('it is big today', 'it was huge today', 'word');
  assert.equal(hunks.length, 1);
  assert.equal(hunks[0]!.oldText, 'is big');
  assert.equal(hunks[0]!.newText, 'was huge');
});

test('line hunks: whole lines', () => {
  const original = 'line one\nline two\nline three\nline four\n';
  const corrected = 'line one\nline 2\nline three\nline four\nline five\n';
  const hunks = computeHunks(original, corrected, 'line');
  assert.deepEqual(
    hunks.map((h) => [h.oldText, h.newText]),
    [
      ['line two\n', 'line 2\n'],
      ['', 'line five\n'],
    ],
  );
  assert.equal(hunks[1]!.start, original.length);
});

test('identical texts have no hunks', () => {
  assert.deepEqual(computeHunks('same text', 'same text', 'word'), []);
  assert.deepEqual(computeHunks('same\n', 'same\n', 'line'), []);
});

test('accepting all hunks gives the corrected text, none gives the original, subsets mix', () => {
  const original = 'Alpha beta gamma.\nDelta epsilon.\nZeta eta theta.\n';
  const corrected = 'Alpha BETA gamma.\nDelta epsilon.\nZeta theta, iota.\n';
  for (const g of ['word', 'line'] as const) {
    const hunks = computeHunks(original, corrected, g);
    assert.ok(hunks.length >= 2, `${g}: several hunks`);
    assert.equal(
      applyHunks(original, hunks, () => true),
      corrected,
      `${g}: accept all`,
    );
    assert.equal(
      applyHunks(original, hunks, () => false),
      original,
      `${g}: reject all`,
    );
  }
  const words = computeHunks(original, corrected, 'word');
  const firstOnly = applyHunks(original, words, (_h, i) => i === 0);
  assert.equal(firstOnly, 'Alpha BETA gamma.\nDelta epsilon.\nZeta eta theta.\n');
  const allButFirst = applyHunks(original, words, (_h, i) => i !== 0);
  assert.equal(allButFirst, 'Alpha beta gamma.\nDelta epsilon.\nZeta theta, iota.\n');
  const lines = computeHunks(original, corrected, 'line');
  assert.equal(lines.length, 2);
  assert.equal(
    applyHunks(original, lines, (_h, i) => i === 1),
    'Alpha beta gamma.\nDelta epsilon.\nZeta theta, iota.\n',
  );
});

test('streaming preview does not show the unreached tail as deleted', () => {
  const original = 'one two three four five';
  const p = previewHunks(original, 'one TWO', 'word');
  assert.ok(p.pendingFrom <= original.indexOf('three'));
  assert.ok(p.hunks.every((h) => h.end <= p.pendingFrom));
  const done = previewHunks(original, 'one TWO three four five', 'word');
  assert.equal(done.pendingFrom, original.length);
  assert.deepEqual(
    done.hunks.map((h) => [h.oldText, h.newText]),
    [['two', 'TWO']],
  );
});
