// Learning from reviews: a finished review (every hunk decided) becomes one Q-A-C row whose
// correction is the original with the accepted hunks applied. Driven through the real ReviewSession.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReviewSession } from '../../../extension/review/reviewSession.js';
import {
  applyAccepted,
  buildReviewRow,
  countReviewRows,
  MIN_REVIEW_ROWS,
} from '../../../extension/learning/reviewRows.js';
import { ReviewRecorder } from '../../../extension/learning/reviewRecorder.js';
import { appendReviewRows, reviewRowCount } from '../../../extension/learning/reviewLog.js';

const NOW = new Date('2026-11-27T10:00:00.000Z');

test('row building: accepted hunks applied, rejected ones kept, nothing to learn is no row', () => {
  const original = 'The sky is green and water is dry.';
  const hunks = [
    { start: 11, end: 16, oldText: 'green', newText: 'blue', accepted: true },
    { start: 30, end: 33, oldText: 'dry', newText: 'wet', accepted: false },
  ];
  assert.equal(applyAccepted(original, hunks), 'The sky is blue and water is dry.');
  assert.deepEqual(buildReviewRow({ question: 'Colours?', original, hunks }, NOW), {
    question: 'Colours?',
    answer: original,
    correction: 'The sky is blue and water is dry.',
    source: 'review',
    timestamp: '2026-11-27T10:00:00.000Z',
  });
  const allRejected = buildReviewRow(
    { question: 'Colours?', original, hunks: hunks.map((h) => ({ ...h, accepted: false })) },
    NOW,
  );
  assert.equal(allRejected?.correction, original, 'keeping the answer is a lesson too');
  assert.equal(buildReviewRow({ question: ' ', original, hunks }), null);
  assert.equal(buildReviewRow({ question: 'q', original, hunks: [] }), null);
  assert.equal(
    buildReviewRow({
      question: 'q',
      original: 'x',
      hunks: [{ start: 0, end: 1, oldText: 'x', newText: '', accepted: true }],
    }),
    null,
  );
  assert.equal(
    applyAccepted(original, [{ start: 0, end: 3, oldText: 'Sky', newText: '', accepted: true }]),
    null,
    'a hunk off its text',
  );
});

test('the recorder follows a real review session to the end of each region', () => {
  const doc = 'Q: Colours?\nA: The sky is green and water is dry.\n';
  const s = new ReviewSession('word');
  const start = doc.indexOf('The sky');
  const end = doc.length - 1;
  const region = s.addRegion(doc, start, end, 'Colours?', 'req-1');
  s.finishRegion(region.id, 'The sky is blue and water is wet.', doc);
  assert.equal(s.hunks.length, 2);
  const rec = new ReviewRecorder(() => NOW);
  rec.observe('file:///a.md', s);

  const [first, second] = s.hunks;
  s.removeHunks([first!.id]); // accepted (the document edit itself is VS Code's business)
  assert.deepEqual(rec.decided('file:///a.md', [first!.id], true, s), [], 'one hunk still pending');
  s.removeHunks([second!.id]);
  const rows = rec.decided('file:///a.md', [second!.id], false, s);
  assert.deepEqual(rows, [
    {
      question: 'Colours?',
      answer: 'The sky is green and water is dry.',
      correction: 'The sky is blue and water is dry.',
      source: 'review',
      timestamp: NOW.toISOString(),
    },
  ]);
  assert.deepEqual(rec.decided('file:///a.md', [second!.id], false, s), [], 'recorded once');
});

test('regions dropped without a decision are forgotten; other documents are untouched', () => {
  const doc = 'Answer: cats are reptiles.';
  const s = new ReviewSession('word');
  const r = s.addRegion(doc, 8, doc.length, 'Cats?', 'req-2');
  s.finishRegion(r.id, 'cats are mammals.', doc);
  const rec = new ReviewRecorder(() => NOW);
  rec.observe('doc-a', s);
  const ids = s.hunks.map((h) => h.id);
  assert.deepEqual(rec.decided('doc-b', ids, true, undefined), [], 'another document');
  rec.observe('doc-a', undefined); // the document was closed: the session is gone
  assert.deepEqual(rec.decided('doc-a', ids, true, undefined), []);
});

test('reviews.jsonl: appended with mode 0600, counted, and the threshold', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'aligner-reviews-')), 'sub', 'reviews.jsonl');
  assert.equal(await reviewRowCount(file), 0);
  const row = { question: 'q', answer: 'a', correction: 'c', source: 'review' as const, timestamp: NOW.toISOString() };
  await appendReviewRows(file, [row, row]);
  await appendReviewRows(file, [row]);
  assert.equal(await reviewRowCount(file), 3);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(countReviewRows(readFileSync(file, 'utf8') + '{"question":"torn'), 3);
  assert.equal(MIN_REVIEW_ROWS, 20);
});
