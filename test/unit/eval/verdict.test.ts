// LLM judge verdicts: parsing free text, and the both-orders rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineOrders, outcomeOf, outcomeScore, parseVerdict } from '../../../server/eval/judges/verdict.js';
import { renderJudgePrompt, DEFAULT_JUDGE_PROMPT } from '../../../server/eval/judges/llmPrompt.js';

test('parses bare and labelled verdicts', () => {
  const cases: Array<[string, 'A' | 'B' | 'tie' | null]> = [
    ['A', 'A'],
    ['B.', 'B'],
    ['(A)', 'A'],
    ['"B"', 'B'],
    ['Response B', 'B'],
    ['**A**', 'A'],
    ['tie', 'tie'],
    ['Tie.', 'tie'],
    ['Both are equally good', 'tie'],
    ['Verdict: A', 'A'],
    ['Verdict: tie', 'tie'],
    ['verdict - B', 'B'],
    ['Final verdict: [[B]]', 'B'],
    ['[[C]]', 'tie'],
    ['Response A is vague.\nResponse B answers it.\nVerdict: B', 'B'],
    ['The better response is A because it is safer.', 'A'],
    ['Final answer: Response B', 'B'],
    ['I think Response A is better than Response B.', 'A'],
    ['Overall, I prefer B.', 'B'],
    ['Assistant B wins.', 'B'],
    ['Both responses are equally helpful, so it is a tie.', 'tie'],
    ['Explanation first.\n\nB', 'B'],
  ];
  for (const [text, want] of cases) assert.equal(parseVerdict(text), want, text);
});

test('the last verdict wins over restated ones; articles are not verdicts', () => {
  assert.equal(parseVerdict('Verdict: A ... on reflection, Verdict: B'), 'B');
  assert.equal(parseVerdict('Verdict: B. My answer is a bit long, sorry.'), 'B');
  assert.equal(parseVerdict('a'), null);
  assert.equal(parseVerdict('I prefer a shorter reply.'), null);
});

test('unreadable replies are null', () => {
  for (const text of ['', '   ', 'The weather is nice today.', 'xq zr 1234 Human: Assistant:', 'ABBA']) {
    assert.equal(parseVerdict(text), null, text);
  }
});

test('outcomes from the correction side in each order', () => {
  // original-first: the correction is B.
  assert.equal(outcomeOf('B', 'B'), 'win');
  assert.equal(outcomeOf('A', 'B'), 'lose');
  assert.equal(outcomeOf('tie', 'B'), 'tie');
  assert.equal(outcomeOf(null, 'B'), 'invalid');
  // correction-first: the correction is A.
  assert.equal(outcomeOf('A', 'A'), 'win');
});

test('both orders must agree: a win in one order and a loss in the other is a tie', () => {
  assert.equal(combineOrders('win', 'win'), 'win');
  assert.equal(combineOrders('lose', 'lose'), 'lose');
  assert.equal(combineOrders('tie', 'tie'), 'tie');
  assert.equal(combineOrders('win', 'lose'), 'tie');
  assert.equal(combineOrders('lose', 'win'), 'tie');
  assert.equal(combineOrders('win', 'tie'), 'tie');
  assert.equal(combineOrders('tie', 'lose'), 'tie');
  assert.equal(combineOrders('win', 'invalid'), 'invalid');
  assert.equal(combineOrders('invalid', 'tie'), 'invalid');
  // A judge that always says "A" (pure position bias) yields ties only.
  assert.equal(combineOrders(outcomeOf('A', 'B'), outcomeOf('A', 'A')), 'tie');
  assert.deepEqual(
    ['win', 'tie', 'lose', 'invalid'].map((o) => outcomeScore(o as never)),
    [1, 0, -1, null],
  );
});

test('the judge prompt is filled in one pass (braces in answers stay)', () => {
  const out = renderJudgePrompt('Q={question} A={answer_a} B={answer_b}{context}', {
    question: 'q {answer_b}',
    answerA: 'x',
    answerB: 'y',
  });
  assert.equal(out, 'Q=q {answer_b} A=x B=y');
  const withContext = renderJudgePrompt(DEFAULT_JUDGE_PROMPT, {
    question: 'Q?',
    context: [{ role: 'user', content: 'hi' }],
    answerA: 'one',
    answerB: 'two',
  });
  assert.match(withContext, /User: hi/);
  assert.match(withContext, /\[Response A\]\none/);
});
