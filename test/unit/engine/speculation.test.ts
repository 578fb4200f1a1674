import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PromptLookupDrafter } from '../../../server/engine/speculation.js';

test('proposes what followed the latest occurrence of the last n-gram', () => {
  // "question ... answer: 10 11 12 13 14 15"; the correction so far ends with "11 12".
  const prompt = [1, 2, 3, 10, 11, 12, 13, 14, 15, 4];
  const d = new PromptLookupDrafter(prompt);
  assert.deepEqual(d.propose([10, 11, 12], 4), [13, 14, 15, 4]);
  assert.deepEqual(d.propose([10, 11, 12], 2), [13, 14]);
  assert.deepEqual(d.propose([99], 4), [], 'no match, no draft');
});

test('the draft grows while accepted, shrinks on rejection and pauses after repeated misses', () => {
  const prompt = Array.from({ length: 40 }, (_, i) => i);
  const d = new PromptLookupDrafter(prompt, { maxNgram: 2, initialDraft: 4, maxDraft: 8, patience: 2, pauseSteps: 3 });
  assert.equal(d.propose([5], 100).length, 4);
  d.record(4, 4);
  assert.equal(d.propose([5], 100).length, 6);
  d.record(6, 1);
  assert.equal(d.propose([5], 100).length, 2);
  d.record(2, 0);
  d.record(2, 0);
  assert.deepEqual(d.propose([5], 100), [], 'paused');
  d.propose([5], 100);
  d.propose([5], 100);
  assert.equal(d.propose([5], 100).length, 4, 'resumes with the initial draft length');
  assert.equal(d.drafted, 14);
  assert.equal(d.accepted, 5);
});
