// Percentile bootstrap: seeded, contains the mean, sensible width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMean, quantile } from '../../../server/eval/metrics/bootstrap.js';

const values = Array.from({ length: 100 }, (_, i) => (i * 37) % 11) // 0..10, deterministic spread
  .map((v) => v - 3);

test('the interval contains the mean and low <= high', () => {
  const s = bootstrapMean(values, { resamples: 1000, seed: 1 });
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.equal(s.mean, mean);
  assert.equal(s.n, 100);
  assert.ok(s.low! <= s.mean! && s.mean! <= s.high!, JSON.stringify(s));
});

test('seeded: the same seed gives the same interval, another seed (almost surely) another', () => {
  const a = bootstrapMean(values, { resamples: 500, seed: 7 });
  const b = bootstrapMean(values, { resamples: 500, seed: 7 });
  const c = bootstrapMean(values, { resamples: 500, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual([a.low, a.high], [c.low, c.high]);
});

test('width matches the normal approximation for a fair coin (n = 400: ±4.9 points)', () => {
  const coin = Array.from({ length: 400 }, (_, i) => (i % 2) * 100);
  const s = bootstrapMean(coin, { resamples: 2000, seed: 3 });
  const half = (s.high! - s.low!) / 2;
  assert.ok(half > 4 && half < 6, `half-width ${half}`);
});

test('edge cases: no values, one value, constant values, no resamples', () => {
  assert.deepEqual(bootstrapMean([], { resamples: 100, seed: 0 }), { mean: null, low: null, high: null, n: 0 });
  assert.deepEqual(bootstrapMean([5], { resamples: 100, seed: 0 }), { mean: 5, low: 5, high: 5, n: 1 });
  assert.deepEqual(bootstrapMean([2, 2, 2], { resamples: 100, seed: 0 }), { mean: 2, low: 2, high: 2, n: 3 });
  assert.deepEqual(bootstrapMean([1, 3], { resamples: 0, seed: 0 }), { mean: 2, low: null, high: null, n: 2 });
});

test('quantile interpolates linearly (numpy default)', () => {
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([1, 2, 3, 4], 0.975), 3.925);
});
