import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  findLastAnswer,
  inferQuestion,
  parseSegments,
  stripLeadingMarker,
} from '../../../extension/questionInference.js';

const sel = (text: string, part: string) => {
  const start = text.lastIndexOf(part);
  return [start, start + part.length] as const;
};

test('User:/Assistant: transcript: the last user turn before the selection, earlier turns as context', () => {
  const text =
    'User: Hi!\nAssistant: Hello, how can I help?\nUser: What is the boiling point of water?\nAssistant: It boils at 90 degrees.\n';
  const [s, e] = sel(text, 'It boils at 90 degrees.');
  const q = inferQuestion(text, s, e);
  assert.equal(q?.question, 'What is the boiling point of water?');
  assert.equal(q?.source, 'transcript');
  assert.deepEqual(q?.context, [
    { role: 'user', content: 'Hi!' },
    { role: 'assistant', content: 'Hello, how can I help?' },
  ]);
});

test('Human:/Assistant: transcript, multi-line turns', () => {
  const text = 'Human: Write a haiku\nabout the sea.\n\nAssistant: Waves on the shore\nsalt wind\n';
  const [s, e] = sel(text, 'Waves on the shore\nsalt wind');
  assert.equal(inferQuestion(text, s, e)?.question, 'Write a haiku\nabout the sea.');
});

test('markdown speakers: **User:** and ### Assistant headings', () => {
  const text = '**User:** Name a prime.\n\n### Assistant\nNine is prime.\n';
  const [s, e] = sel(text, 'Nine is prime.');
  assert.equal(inferQuestion(text, s, e)?.question, 'Name a prime.');
});

test('Q: / A: headers', () => {
  const text = 'Q: How many legs does a spider have?\nA: Six legs.\n';
  const [s, e] = sel(text, 'Six legs.');
  const q = inferQuestion(text, s, e);
  assert.equal(q?.question, 'How many legs does a spider have?');
  assert.equal(q?.source, 'header');
});

test('Question: header followed by a free answer paragraph', () => {
  const text = 'Question: Why is the sky blue?\n\nBecause it reflects the ocean.';
  const [s, e] = sel(text, 'Because it reflects the ocean.');
  assert.equal(inferQuestion(text, s, e)?.question, 'Why is the sky blue?');
});

test('no markers: null (the extension asks)', () => {
  const text = 'Just some text with an answer in it.\nNo dialogue here: none at all.';
  const [s, e] = sel(text, 'answer in it');
  assert.equal(inferQuestion(text, s, e), null);
});

test('words that only look like speakers are not markers', () => {
  assert.deepEqual(parseSegments('Answering machine: broken\nuser manual page\n'), []);
});

test('findLastAnswer picks the last assistant turn; stripLeadingMarker drops a selected "Assistant:"', () => {
  const text = 'User: a?\nAssistant: first\nUser: b?\nAssistant:  second answer  \n';
  const span = findLastAnswer(text)!;
  assert.equal(text.slice(span.start, span.end), 'second answer');
  const from = text.lastIndexOf('Assistant:');
  const stripped = stripLeadingMarker(text, from, text.length);
  assert.equal(text.slice(stripped.start, stripped.end), 'second answer');
  assert.equal(findLastAnswer('no dialogue'), null);
});
