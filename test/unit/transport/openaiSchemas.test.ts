// The OpenAI request fields both endpoints share map onto the engine's generation options, with the
// protocol's bounds (loop_guard included: 0 or an n-gram size of at least 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatCompletionRequestSchema, generationOptionsOf } from '../../../server/transport/openaiSchemas.js';

const messages = [{ role: 'user', content: 'q' }];

test('sampling fields become generation options; max_completion_tokens wins over max_tokens', () => {
  const body = ChatCompletionRequestSchema.parse({
    messages,
    max_tokens: 10,
    max_completion_tokens: 20,
    temperature: 0.5,
    top_p: 0.9,
    top_k: 40,
    seed: 7,
    repetition_penalty: 1.1,
    loop_guard: 16,
    stop: 'END',
  });
  assert.deepEqual(generationOptionsOf(body), {
    maxNewTokens: 20,
    temperature: 0.5,
    topP: 0.9,
    topK: 40,
    seed: 7,
    repetitionPenalty: 1.1,
    loopGuard: 16,
    stop: ['END'],
  });
});

test('null means unset, and loop_guard outside the protocol bounds is refused', () => {
  assert.deepEqual(generationOptionsOf(ChatCompletionRequestSchema.parse({ messages, loop_guard: null })), {});
  assert.equal(ChatCompletionRequestSchema.safeParse({ messages, loop_guard: 0 }).success, true);
  assert.equal(ChatCompletionRequestSchema.safeParse({ messages, loop_guard: 1 }).success, false);
  assert.equal(ChatCompletionRequestSchema.safeParse({ messages, loop_guard: 300 }).success, false);
});
