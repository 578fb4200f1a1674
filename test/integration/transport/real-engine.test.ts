// The transport over the real engine (EngineHost, ONNX in a worker) with a tiny random-weight
// model: streaming, 8 concurrent clients equal to the same requests run alone (greedy), cancel,
// cancel on socket close, and the OpenAI route agreeing with JSON-RPC.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineHost } from '../../../server/engine/host.js';
import type { AlignerService, CorrectionCallbacks, CorrectionInput } from '../../../server/engine/api.js';
import {
  CancelRequest,
  HealthRequest,
  type CorrectParams,
  type CorrectResult,
} from '../../../server/protocol/index.js';
import { generateToken } from '../../../server/transport/auth.js';
import { connectAligner } from '../../../server/transport/client.js';
import { startTransport, type RunningServer } from '../../../server/transport/server.js';
import { testModel } from '../../helpers/testModels.js';
import { httpRequest, sseData } from '../../unit/transport/helpers.js';

let engine: EngineHost;
let server: RunningServer;
const token = generateToken();
/** requestIds whose AbortSignal the engine was handed aborted, to observe transport cancels. */
const aborted = new Map<string, () => void>();
const abortedIds = new Set<string>();

function waitForAbort(requestId: string): Promise<void> {
  if (abortedIds.has(requestId)) return Promise.resolve();
  return new Promise((resolve) => aborted.set(requestId, resolve));
}

/** The real engine, with a tap on each request's AbortSignal. */
function observed(inner: AlignerService): AlignerService {
  return {
    info: () => inner.info(),
    health: () => inner.health(),
    listModels: () => inner.listModels(),
    loadModel: (p) => inner.loadModel(p),
    unloadModel: (id) => inner.unloadModel(id),
    score: (input) => inner.score(input),
    close: () => inner.close(),
    correct: (input: CorrectionInput, callbacks: CorrectionCallbacks = {}) => {
      callbacks.signal?.addEventListener('abort', () => {
        abortedIds.add(input.requestId);
        aborted.get(input.requestId)?.();
      });
      return inner.correct(input, callbacks);
    },
  };
}

before(async () => {
  engine = new EngineHost({ threads: 1, maxBatch: 8 });
  await engine.loadModel({ path: await testModel('llama') });
  server = await startTransport({ service: observed(engine), token, log: () => {} });
});
after(async () => {
  await server?.close();
  await engine?.close();
});

const greedy = (id: string, question: string, maxNewTokens = 24): CorrectParams => ({
  requestId: id,
  question,
  answer: 'In plain text, it is simplest.',
  generation: { maxNewTokens, temperature: 0 },
});

test('streams deltas over WebSocket that add up to the result', async () => {
  const c = await connectAligner(server.wsUrl, token);
  assert.equal((await c.connection.sendRequest(HealthRequest, undefined)).status, 'ready');
  const deltas: string[] = [];
  const indices: number[] = [];
  const r = await c.correct(greedy('s1', 'How should my app store passwords?'), {
    onDelta: (d) => {
      assert.equal(d.requestId, 's1');
      deltas.push(d.delta);
      indices.push(d.index);
    },
  });
  assert.ok(deltas.length > 0);
  assert.equal(deltas.join(''), r.text);
  assert.deepEqual(
    indices,
    deltas.map((_, i) => i),
  );
  assert.ok(['stop', 'length'].includes(r.finishReason));
  await c.close();
});

test('8 concurrent clients each get what the same request gets alone (greedy)', async () => {
  const reqs = Array.from({ length: 8 }, (_, i) => greedy(`c${i}`, `Question ${i}: ${'why '.repeat(i * 3)}?`));
  const solo = await connectAligner(server.wsUrl, token);
  const alone: CorrectResult[] = [];
  for (const r of reqs) alone.push(await solo.correct(r));
  await solo.close();

  const clients = await Promise.all(reqs.map(() => connectAligner(server.wsUrl, token)));
  const together = await Promise.all(
    clients.map(async (c, i) => {
      let streamed = '';
      const r = await c.correct(reqs[i], { onDelta: (d) => (streamed += d.delta) });
      assert.equal(streamed, r.text, `client ${i} deltas`);
      return r;
    }),
  );
  together.forEach((r, i) => {
    assert.equal(r.text, alone[i].text, `client ${i}`);
    assert.deepEqual(r.tokenIds, alone[i].tokenIds, `client ${i} tokens`);
  });
  await Promise.all(clients.map((c) => c.close()));
});

test('cancel mid-stream resolves with what was streamed; the engine keeps serving', async () => {
  const c = await connectAligner(server.wsUrl, token);
  let streamed = '';
  let cancelSent: Promise<{ cancelled: boolean }> | undefined;
  const r = await c.correct(greedy('x1', 'Explain recursion.', 400), {
    onDelta: (d) => {
      streamed += d.delta;
      cancelSent ??= c.connection.sendRequest(CancelRequest, { requestId: 'x1' });
    },
  });
  assert.deepEqual(await cancelSent, { cancelled: true });
  assert.equal(r.finishReason, 'cancelled');
  assert.equal(r.text, streamed);
  assert.ok(r.usage.completionTokens < 400);
  const next = await c.correct(greedy('x2', 'And now?', 4));
  assert.ok(next.text.length > 0 || next.finishReason !== 'cancelled');
  await c.close();
});

test('closing the socket cancels its request in the engine', async () => {
  const c = await connectAligner(server.wsUrl, token);
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  void c.correct(greedy('k1', 'Tell me a long story.', 2000), { onDelta: () => started() }).catch(() => {});
  await running;
  await c.close();
  await waitForAbort('k1');
  const other = await connectAligner(server.wsUrl, token);
  assert.ok((await other.correct(greedy('k2', 'Still there?', 4))).usage.completionTokens > 0);
  await other.close();
});

test('OpenAI /v1/chat/completions returns the same correction as JSON-RPC, streamed or not', async () => {
  const question = 'How should my app store passwords?';
  const c = await connectAligner(server.wsUrl, token);
  const rpc = await c.correct(greedy('h1', question));
  await c.close();
  const body = {
    messages: [
      { role: 'user', content: question },
      { role: 'assistant', content: 'In plain text, it is simplest.' },
    ],
    max_tokens: 24,
    temperature: 0,
  };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const plain = await httpRequest(server.url, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers,
    body: JSON.stringify(body),
  });
  assert.equal(plain.status, 200);
  assert.equal(plain.json().choices[0].message.content, rpc.text);
  assert.equal(plain.json().usage.completion_tokens, rpc.usage.completionTokens);

  const streamed = await httpRequest(server.url, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers,
    body: JSON.stringify({ ...body, stream: true }),
  });
  const data = sseData(streamed.text);
  assert.equal(data.at(-1), '[DONE]');
  const text = data
    .slice(0, -1)
    .map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '')
    .join('');
  assert.equal(text, rpc.text);
});
