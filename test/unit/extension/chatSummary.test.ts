import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  answerOf,
  changeSummary,
  historyTurns,
  inlineCode,
  lastExchange,
  SUMMARY_MARKER,
} from '../../../extension/chatSummary.js';

// Shapes of vscode.ChatRequestTurn / ChatResponseTurn (markdown parts hold a MarkdownString).
const req = (prompt: string) => ({ prompt });
const res = (text: string, metadata?: Record<string, unknown>) => ({
  response: [{ value: { value: text } }],
  result: { metadata },
});

test('lastExchange: the previous question and answer, with earlier turns as context', () => {
  const h = [req('hi'), res('hello'), req('2+2?'), res('5' + SUMMARY_MARKER + '\n- x')];
  assert.deepEqual(lastExchange(h), {
    question: '2+2?',
    answer: '5',
    context: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ],
  });
  assert.equal(lastExchange([req('only a question')]), null);
});

test('a response that stored its corrected text in metadata is read from there', () => {
  assert.equal(answerOf(res('shown text', { corrected: 'exact text' })), 'exact text');
  assert.deepEqual(historyTurns([req('q'), res('ignored', { corrected: 'a' })]), [
    { role: 'user', content: 'q' },
    { role: 'assistant', content: 'a' },
  ]);
});

test('change summary lists replacements, additions and removals', () => {
  const s = changeSummary('The sun is a planet. It is hot.', 'The sun is a star. It is very hot.');
  assert.ok(s.startsWith(SUMMARY_MARKER));
  assert.match(s, /`planet` → `star`/);
  assert.match(s, /- added `very`/);
  assert.match(changeSummary('same', 'same'), /Nothing/);
});

test('inline code survives backticks', () => {
  assert.equal(inlineCode('a `b` c'), '``a `b` c``');
  assert.equal(inlineCode('x'), '`x`');
});
