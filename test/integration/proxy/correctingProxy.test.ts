// The correcting proxy end to end, with the official `openai` client and real servers on real
// sockets: a proxy `aligner serve --upstream` in front of a second `aligner serve --chat-model`.
// Runs with a random-weight test chat model always, and with a real instruct model where one is at
// hand: $ALIGNER_CHAT_MODEL (a converted folder), else SmolLM2-135M-Instruct converted here from its
// GGUF (scripts/fetch-smollm2.sh; $ALIGNER_SMOLLM2_GGUF or runs/default-data/gguf/), chat template
// included, as a user would run it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { convertGguf } from '../../../server/convert/gguf/convertGguf.js';
import { writeTestModel } from '../../../server/testmodel/writeTestModel.js';
import { testModel } from '../../helpers/testModels.js';
import { startServe, type ServeProcess } from '../../helpers/serveProcess.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SMOLLM2_GGUF =
  process.env.ALIGNER_SMOLLM2_GGUF ?? join(ROOT, 'runs', 'default-data', 'gguf', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const UPSTREAM_KEY_VAR = 'ALIGNER_TEST_UPSTREAM_KEY';

const started: ServeProcess[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

/** A random-weight chat model: the test model with a chat template in its tokenizer_config.json. */
async function testChatModel(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'aligner-chat-model-')), 'tiny-chat');
  await writeTestModel({ type: 'qwen2', outDir: dir, safetensors: false });
  const configPath = join(dir, 'tokenizer_config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.chat_template =
    '{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}';
  writeFileSync(configPath, JSON.stringify(config));
  return dir;
}

interface Setup {
  upstream: ServeProcess;
  proxy: ServeProcess;
  chatModelId: string;
  alignerId: string;
}

async function startPair(chatArgs: string[], chatModelId: string, alignerDir: string): Promise<Setup> {
  const upstream = await startServe(['--model', alignerDir, ...chatArgs, '--chat-model-id', chatModelId]);
  started.push(upstream);
  const proxy = await startServe(
    [
      '--model',
      alignerDir,
      '--upstream',
      `${upstream.url}/v1`,
      '--upstream-model',
      chatModelId,
      '--upstream-key-env',
      UPSTREAM_KEY_VAR,
      '--upstream-retries',
      '1',
      '--upstream-timeout',
      '60000',
    ],
    // The upstream is an `aligner serve`: its bearer token is the proxy's upstream key.
    { [UPSTREAM_KEY_VAR]: upstream.token },
  );
  started.push(proxy);
  const alignerId = alignerDir.split('/').at(-1)!;
  return { upstream, proxy, chatModelId, alignerId };
}

/** A chat request that names no model, so the server's default (the Aligner) answers; the SDK's types want one. */
const withoutModel = <T extends object>(body: T) => body as T & { model: string };

const client = (server: ServeProcess) =>
  new OpenAI({ baseURL: `${server.url}/v1`, apiKey: server.token, maxRetries: 0, timeout: 120_000 });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function exerciseProxy(s: Setup, question: string, maxTokens: number): Promise<void> {
  const viaProxy = client(s.proxy);
  const direct = client(s.upstream);
  const request = {
    model: s.chatModelId,
    messages: [{ role: 'user' as const, content: question }],
    temperature: 0,
    max_tokens: maxTokens,
  };

  // The upstream on its own, then the same request through the proxy.
  const own = await direct.chat.completions.create(request);
  const original = own.choices[0]!.message.content;
  assert.ok(original && original.length > 0, 'the upstream answers');
  const corrected = (await viaProxy.chat.completions.create(request)) as Json;
  const a = corrected.aligner;
  assert.equal(a.corrected, true);
  assert.equal(a.original, original, "aligner.original is the upstream's own greedy answer");
  assert.equal(a.upstream_model, s.chatModelId);
  assert.equal(a.aligner_model, s.alignerId);
  assert.ok(a.usage.upstream.completion_tokens > 0 && a.usage.aligner.completion_tokens > 0);
  assert.equal(
    corrected.usage.total_tokens,
    a.usage.upstream.total_tokens + a.usage.aligner.total_tokens,
    'usage is both models together',
  );
  for (const key of ['upstream_ms', 'aligner_ms', 'total_ms']) assert.ok(a.timings[key] > 0, key);
  assert.equal(corrected.model, s.chatModelId);

  // The correction is the Aligner's (draft mode, still served) on exactly that answer.
  const draft = await viaProxy.chat.completions.create(
    withoutModel({
      messages: [...request.messages, { role: 'assistant' as const, content: original }],
      max_tokens: maxTokens,
      temperature: 0,
    }),
  );
  assert.equal(corrected.choices[0].message.content, draft.choices[0]!.message.content);
  assert.equal((draft as Json).aligner, undefined, 'draft mode is not proxied');

  // Streaming yields the same text; the first chunk carries the original, the last the summary.
  const stream = await viaProxy.chat.completions.create({
    ...request,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  const chunks: Json[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, corrected.choices[0].message.content);
  assert.equal(chunks[0].aligner.original, original);
  const last = chunks.findLast((c) => c.choices.length > 0);
  assert.equal(last.aligner.original, original);
  assert.equal(last.aligner.usage.aligner.completion_tokens, a.usage.aligner.completion_tokens);
  assert.deepEqual(chunks.at(-1).usage, corrected.usage);
}

describe('correcting proxy with a random-weight chat model (always runs)', async () => {
  const s = await startPair(['--chat-model', await testChatModel()], 'tiny-chat', await testModel('llama'));

  test('/v1/models lists the Aligner, the chat model and the upstream, with roles', async () => {
    const upstreamModels = (await client(s.upstream).models.list()).data as Json[];
    assert.deepEqual(upstreamModels.map((m) => [m.id, m.role]).sort(), [
      [s.alignerId, 'aligner'],
      ['tiny-chat', 'chat'],
    ]);
    const proxyModels = (await client(s.proxy).models.list()).data as Json[];
    assert.deepEqual(proxyModels.map((m) => [m.id, m.role]).sort(), [
      [s.alignerId, 'aligner'],
      ['tiny-chat', 'upstream'],
    ]);
  });

  test('openai client: the correction of the upstream answer, streamed the same, draft mode intact', async () => {
    await exerciseProxy(s, 'How should my app store passwords?', 12);
  });

  test('tools pass through uncorrected and marked, JSON and streamed; bad requests keep their status', async () => {
    const viaProxy = client(s.proxy);
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
    const messages = [{ role: 'user' as const, content: 'Look it up.' }];
    const passed = (await viaProxy.chat.completions.create({
      model: 'tiny-chat',
      messages,
      tools,
      temperature: 0,
      max_tokens: 6,
    })) as Json;
    assert.deepEqual([passed.aligner.corrected, passed.aligner.reason], [false, 'tools']);
    const own = await client(s.upstream).chat.completions.create({
      model: 'tiny-chat',
      messages,
      temperature: 0,
      max_tokens: 6,
    });
    assert.equal(
      passed.choices[0].message.content,
      own.choices[0]!.message.content,
      'the answer as the upstream gave it',
    );

    const { data: stream, response } = await viaProxy.chat.completions
      .create({ model: 'tiny-chat', messages, tools, temperature: 0, max_tokens: 6, stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-aligner-corrected'), 'false');
    assert.equal(response.headers.get('x-aligner-reason'), 'tools');
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, own.choices[0]!.message.content);

    // n > 1 passes through; this upstream refuses it, and its 400 reaches the client as a 400.
    await assert.rejects(
      viaProxy.chat.completions.create({ model: 'tiny-chat', messages, n: 2, max_tokens: 4 }),
      (e: Json) => e instanceof OpenAI.BadRequestError && /Upstream answered 400/.test(e.message),
    );
    // Bad Aligner options are refused before the upstream is asked.
    await assert.rejects(
      viaProxy.chat.completions.create({ messages, aligner: { template: 'nope' } } as Json),
      (e: Json) => e instanceof OpenAI.BadRequestError && /template/.test(e.message),
    );
  });

  test('upstream stopped: an OpenAI-shaped 502, and the proxy keeps serving; the key is never logged', async () => {
    assert.equal(await s.upstream.stop(), 0);
    const viaProxy = client(s.proxy);
    const messages = [{ role: 'user' as const, content: 'Anyone there?' }];
    for (const stream of [false, true]) {
      await assert.rejects(
        viaProxy.chat.completions.create(withoutModel({ messages, max_tokens: 4, stream })),
        (e: Json) => {
          assert.ok(e instanceof OpenAI.APIError, String(e));
          assert.equal(e.status, 502);
          assert.equal(e.code, 'upstream_unavailable');
          assert.equal(e.type, 'server_error');
          assert.match(e.message, /could not be reached/);
          return true;
        },
      );
    }
    const draft = await viaProxy.chat.completions.create(
      withoutModel({ messages: [...messages, { role: 'assistant' as const, content: 'Yes.' }], max_tokens: 4 }),
    );
    assert.ok(draft.choices[0]!.message.content !== undefined, 'draft mode still answers');
    assert.ok(!s.proxy.output().includes(s.upstream.token), 'the upstream key never appears in the logs');
  });
});

describe('correcting proxy with a real instruct model', async () => {
  const given = process.env.ALIGNER_CHAT_MODEL;
  const defaultAligner = join(ROOT, 'models', 'default');
  const skip =
    given === undefined && !existsSync(SMOLLM2_GGUF)
      ? `no instruct model: set ALIGNER_CHAT_MODEL, or fetch the GGUF with scripts/fetch-smollm2.sh runs/default-data/gguf`
      : !existsSync(join(defaultAligner, 'onnx', 'model.onnx'))
        ? 'models/default is missing'
        : false;
  test('openai client against SmolLM2-Instruct behind the proxy', { skip }, async () => {
    let chatModel = given;
    if (chatModel === undefined) {
      chatModel = join(mkdtempSync(join(tmpdir(), 'aligner-smollm2-')), 'smollm2');
      await convertGguf({ from: SMOLLM2_GGUF, out: chatModel, dtype: 'int8' });
    }
    const s = await startPair(['--chat-model', chatModel], 'smollm2-instruct', defaultAligner);
    await exerciseProxy(s, 'What is the capital of France?', 32);
  });
});
