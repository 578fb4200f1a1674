// chrF and ROUGE-L against hand-computed values (and one value published for sacrebleu).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chrF, maxChrF } from '../../../server/eval/metrics/chrf.js';
import { lcsLength, rougeL, rougeTokens } from '../../../server/eval/metrics/rougeL.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('chrF: identical texts score 100, disjoint texts 0', () => {
  assert.equal(chrF('The cat sat on the mat.', 'The cat sat on the mat.'), 100);
  assert.equal(chrF('', ''), 100);
  assert.equal(chrF('abc', 'xyz'), 0);
  assert.equal(chrF('', 'xyz'), 0);
  assert.equal(chrF('abc', ''), 0);
});

test('chrF ignores whitespace, as sacrebleu does by default', () => {
  assert.equal(chrF('a b  c\n', 'abc'), 100);
  close(chrF('a b', 'abc'), chrF('ab', 'abc'));
});

test('chrF: hand-computed values', () => {
  // "ab" vs "abc": 1-grams P=2/2 R=2/3; 2-grams P=1/1 R=1/2; higher orders have no hypothesis
  // n-grams and are left out. avgP=1, avgR=7/12; F2 = 5PR/(4P+R) = (35/12)/(55/12) = 7/11.
  close(chrF('ab', 'abc'), (100 * 7) / 11);
  // "aaa" vs "aa": counts are clipped. 1-grams P=2/3 R=1; 2-grams P=1/2 R=1.
  // avgP=7/12, avgR=1; F2 = 5*(7/12)/(4*7/12+1) = 35/40.
  close(chrF('aaa', 'aa'), 87.5);
  // Recall weighs more than precision (beta 2): a short exact prefix scores low.
  assert.ok(chrF('ab', 'abcdefgh') < chrF('abcdefghXYZ', 'abcdefgh'));
});

test('chrF matches the value published for sacrebleu (HF metric card example)', () => {
  const score = chrF(
    'The relationship between Obama and Netanyahu is not exactly friendly.',
    'The ties between Obama and Netanyahu are not particularly friendly.',
  );
  close(score, 61.576379378113785, 1e-9);
});

test('maxChrF takes the best reference, 0 with none', () => {
  assert.equal(maxChrF('abc', ['xyz', 'abc']), 100);
  assert.equal(maxChrF('abc', []), 0);
});

test('ROUGE-L tokens are lower-cased, punctuation dropped', () => {
  assert.deepEqual(rougeTokens("Hello, World! It's 42."), ['hello', 'world', 'it', 's', '42']);
  assert.equal(rougeL('Hello, world!', 'hello world'), 1);
});

test('ROUGE-L: identical = 1, disjoint = 0, hand-computed LCS F1', () => {
  assert.equal(rougeL('the same words', 'the same words'), 1);
  assert.equal(rougeL('alpha beta', 'gamma delta'), 0);
  assert.equal(rougeL('', 'gamma'), 0);
  assert.equal(rougeL('', ''), 1);
  // LCS = the cat on the mat (5 of 6 tokens each side): P = R = F = 5/6.
  assert.equal(lcsLength('the cat sat on the mat'.split(' '), 'the cat is on the mat'.split(' ')), 5);
  close(rougeL('The cat sat on the mat.', 'the cat is on the mat'), 5 / 6);
  // LCS("a b c d", "b d") = 2: P = 1/2, R = 1, F1 = 2/3.
  close(rougeL('a b c d', 'b d'), 2 / 3);
  // Order matters: LCS("c b a", "a b c") = 1: P = R = 1/3.
  close(rougeL('c b a', 'a b c'), 1 / 3);
});
