import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NO_MODEL_MESSAGE,
  NOTHING_TO_CORRECT,
  runChatRequest,
  type ChatFlowDeps,
} from '../../../extension/chatFlow.js';
import { SUMMARY_MARKER } from '../../../extension/chatSummary.js';

function recorder() {
  const out = { progress: [] as string[], markdown: [] as string[] };
  return {
    out,
    stream: { progress: (m: string) => out.progress.push(m), markdown: (m: string) => out.markdown.push(m) },
  };
}

async function* chunks(...parts: string[]) {
  for (const p of parts) yield p;
}

function deps(over: Partial<ChatFlowDeps> = {}) {
  const calls: { question: string; answer: string; context: unknown[] }[] = [];
  const d: ChatFlowDeps = {
    model: { name: 'Fake GPT', draft: async () => chunks('Paris is the capital ', 'of Germany.') },
    correct: async (input, onDelta) => {
      calls.push(input);
      const text = input.answer.replace('Germany', 'France');
      onDelta(text.slice(0, 10));
      onDelta(text.slice(10));
      return { text, finishReason: 'stop' };
    },
    isCancelled: () => false,
    ...over,
  };
  return { d, calls };
}

test('a plain prompt: drafted by the selected model, streamed back corrected, with what changed', async () => {
  const { d, calls } = deps();
  const { out, stream } = recorder();
  const r = await runChatRequest(d, { prompt: 'What is the capital of France?' }, [], stream);
  assert.deepEqual(calls[0], {
    question: 'What is the capital of France?',
    answer: 'Paris is the capital of Germany.',
    context: [],
  });
  assert.equal(out.markdown.slice(0, 2).join(''), 'Paris is the capital of France.');
  assert.ok(out.markdown[2]!.startsWith(SUMMARY_MARKER));
  assert.match(out.markdown[2]!, /`Germany` → `France`/);
  assert.deepEqual(r.metadata, {
    draft: 'Paris is the capital of Germany.',
    corrected: 'Paris is the capital of France.',
  });
  assert.match(out.progress[0]!, /Fake GPT/);
});

test('no language model: says so, nothing is sent to the server', async () => {
  const { d, calls } = deps({ model: null });
  const { out, stream } = recorder();
  await runChatRequest(d, { prompt: 'hi' }, [], stream);
  assert.deepEqual(out.markdown, [NO_MODEL_MESSAGE]);
  assert.equal(calls.length, 0);
});

test('/correct corrects the previous answer in the history, with its question', async () => {
  const { d, calls } = deps();
  const { stream } = recorder();
  const history = [{ prompt: 'Capital of France?' }, { response: [{ value: { value: 'It is Germany.' } }] }];
  await runChatRequest(d, { prompt: '', command: 'correct' }, history, stream);
  assert.deepEqual(calls[0], { question: 'Capital of France?', answer: 'It is Germany.', context: [] });
});

test('/correct with a Q/A text corrects that text; with no history and no text it explains', async () => {
  const { d, calls } = deps();
  const { out, stream } = recorder();
  await runChatRequest(d, { prompt: 'Q: Capital of France?\nA: Germany.', command: 'correct' }, [], stream);
  assert.deepEqual(calls[0], { question: 'Capital of France?', answer: 'Germany.', context: [] });
  const r2 = recorder();
  await runChatRequest(d, { prompt: '', command: 'correct' }, [], r2.stream);
  assert.deepEqual(r2.out.markdown, [NOTHING_TO_CORRECT]);
  assert.ok(out.markdown.length > 0);
});

test('a cancelled correction adds no summary', async () => {
  const { d } = deps({ correct: async () => ({ text: '', finishReason: 'cancelled' }) });
  const { out, stream } = recorder();
  const r = await runChatRequest(d, { prompt: 'q' }, [], stream);
  assert.deepEqual(r, {});
  assert.ok(!out.markdown.some((m) => m.includes(SUMMARY_MARKER)));
});
