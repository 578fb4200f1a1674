import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRepetitionPenalty, argmax, sampleToken } from '../../../server/engine/sampler.js';
import { seededRandom } from '../../../server/util/rng.js';

test('argmax returns the first maximum, like torch.argmax', () => {
  assert.equal(argmax(new Float32Array([1, 3, 3, 2])), 1);
});

test('repetition penalty divides positive and multiplies negative scores of seen tokens only', () => {
  const logits = new Float32Array([2, -2, 4]);
  applyRepetitionPenalty(logits, [0, 1], 2);
  assert.deepEqual([...logits], [1, -4, 4]);
});

test('temperature 0 is greedy; top-k 1 is greedy at any temperature', () => {
  const logits = new Float32Array([0.1, 2.5, 2.4, -1]);
  const random = seededRandom(1);
  assert.equal(
    sampleToken(logits, { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, loopGuard: 0 }, random),
    1,
  );
  for (let i = 0; i < 50; i++) {
    assert.equal(
      sampleToken(logits, { temperature: 5, topP: 1, topK: 1, repetitionPenalty: 1, loopGuard: 0 }, random),
      1,
    );
  }
});

test('the same seed reproduces the same samples; top-p keeps only the nucleus', () => {
  const logits = new Float32Array([3, 2.9, 0, -5, 1]);
  const cfg = { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, loopGuard: 0 };
  const a = Array.from(
    { length: 30 },
    (
      (r) => () =>
        sampleToken(logits, cfg, r)
    )(seededRandom(7)),
  );
  const b = Array.from(
    { length: 30 },
    (
      (r) => () =>
        sampleToken(logits, cfg, r)
    )(seededRandom(7)),
  );
  assert.deepEqual(a, b);
  const counts = new Map<number, number>();
  const r = seededRandom(3);
  for (let i = 0; i < 2000; i++) {
    const id = sampleToken(logits, { ...cfg, topP: 0.6 }, r);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  // softmax mass of tokens 0 and 1 is ~0.94, token 0 alone ~0.48 < 0.6: the nucleus is {0, 1}.
  assert.deepEqual([...counts.keys()].sort(), [0, 1]);
  assert.ok(counts.get(0)! > 800 && counts.get(1)! > 700, `both nucleus tokens are drawn: ${[...counts]}`);
});
