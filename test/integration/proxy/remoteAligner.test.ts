// A remote Aligner backend: `aligner serve --remote-aligner` sends corrections, with the Aligner
// template applied locally, to a second `aligner serve` behind its OpenAI-compatible /v1/completions
// (standing in for vLLM/TGI). Greedy, same model: token for token the local correction.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { connectAligner } from '../../../server/transport/client.js';
import { ErrorCodes, ModelsListRequest, type CorrectParams } from '../../../server/protocol/index.js';
import { buildPrompt } from '../../../server/engine/templates.js';
import { testModel } from '../../helpers/testModels.js';
import { startServe, type ServeProcess } from '../../helpers/serveProcess.js';

const KEY_VAR = 'ALIGNER_TEST_REMOTE_KEY';
const started: ServeProcess[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('remote Aligner over /v1/completions', async () => {
  const modelDir = await testModel('llama');
  const localId = modelDir.split('/').at(-1)!;
  const backend = await startServe(['--model', modelDir]);
  started.push(backend);
  const front = await startServe(
    [
      '--model',
      modelDir,
      '--remote-aligner',
      `${backend.url}/v1`,
      '--remote-aligner-model',
      localId,
      '--remote-aligner-key-env',
      KEY_VAR,
      '--remote-aligner-id',
      'remote-aligner',
    ],
    { [KEY_VAR]: backend.token },
  );
  started.push(front);

  const request = (requestId: string, model: string): CorrectParams => ({
    requestId,
    model,
    question: 'How should my app store passwords?',
    answer: 'In plain text, it is simplest.',
    context: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
    ],
    generation: { maxNewTokens: 24, temperature: 0 },
  });

  test('the server offers /v1/completions: a raw prompt, with token ids on request (vLLM style)', async () => {
    const openai = new OpenAI({ baseURL: `${backend.url}/v1`, apiKey: backend.token, maxRetries: 0 });
    const prompt = buildPrompt('correction', 'Q?', 'A.');
    const plain = (await openai.completions.create({
      model: localId,
      prompt,
      max_tokens: 10,
      temperature: 0,
      return_token_ids: true,
    } as Json)) as Json;
    assert.equal(plain.object, 'text_completion');
    assert.equal(plain.choices[0].token_ids.length, plain.usage.completion_tokens);
    const stream = await openai.completions.create({
      model: localId,
      prompt,
      max_tokens: 10,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, plain.choices[0].text);
  });

  test('a remote correction equals the local one token for token, streamed and over HTTP', async () => {
    const client = await connectAligner(front.wsUrl, front.token);
    try {
      const models = (await client.connection.sendRequest(ModelsListRequest)).models;
      const remote = models.find((m) => m.id === 'remote-aligner');
      assert.equal(remote?.layout, 'remote');
      assert.equal(remote?.role, 'aligner');
      const local = await client.correct(request('local', localId));
      const deltas: string[] = [];
      const viaRemote = await client.correct(request('remote', 'remote-aligner'), {
        onDelta: (d) => deltas.push(d.delta),
      });
      assert.ok(local.tokenIds!.length > 0);
      assert.deepEqual(viaRemote.tokenIds, local.tokenIds, 'same tokens');
      assert.equal(viaRemote.text, local.text);
      assert.equal(deltas.join(''), local.text, 'streamed as it came');
      assert.equal(viaRemote.model, 'remote-aligner');
      assert.equal(viaRemote.usage.completionTokens, local.usage.completionTokens);
      assert.equal(viaRemote.usage.promptTokens, local.usage.promptTokens);
    } finally {
      await client.close();
    }
    // The default model of the front is the remote one; the OpenAI draft mode goes there too.
    const openai = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: front.token, maxRetries: 0 });
    const messages = [
      { role: 'user' as const, content: 'How should my app store passwords?' },
      { role: 'assistant' as const, content: 'In plain text, it is simplest.' },
    ];
    const viaDefault = await openai.chat.completions.create({ messages, max_tokens: 24, temperature: 0 } as Json);
    const viaLocal = await openai.chat.completions.create({ model: localId, messages, max_tokens: 24, temperature: 0 });
    assert.equal(viaDefault.model, 'remote-aligner');
    assert.equal(viaDefault.choices[0]!.message.content, viaLocal.choices[0]!.message.content);
  });

  test("the remote's errors are the engine's: context overflow, then an unreachable backend", async () => {
    const openai = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: front.token, maxRetries: 0 });
    await assert.rejects(
      openai.chat.completions.create({
        model: 'remote-aligner',
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'long '.repeat(5000) },
        ],
      }),
      (e: Json) => e.status === 400 && e.code === 'context_length_exceeded',
    );
    await backend.stop();
    const client = await connectAligner(front.wsUrl, front.token);
    try {
      await assert.rejects(client.correct(request('gone', 'remote-aligner')), (e: Json) => {
        return e.code === ErrorCodes.BackendUnavailable && /could not be reached/.test(e.message);
      });
      const local = await client.correct(request('still-local', localId));
      assert.ok(local.tokenIds!.length > 0, 'local models keep serving');
    } finally {
      await client.close();
    }
    assert.ok(!front.output().includes(backend.token), 'the key is never logged');
  });
});
