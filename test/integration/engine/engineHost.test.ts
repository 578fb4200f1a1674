// The engine as the server uses it: a worker thread, streaming, cancellation, batching, limits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EngineHost } from '../../../server/engine/host.js';
import type { CorrectResult } from '../../../server/protocol/index.js';
import { EngineError } from '../../../server/engine/api.js';
import { ErrorCodes } from '../../../server/protocol/index.js';
import { testModel } from '../../helpers/testModels.js';

const hosts: EngineHost[] = [];
after(async () => Promise.all(hosts.map((h) => h.close())));

async function host(opts: ConstructorParameters<typeof EngineHost>[0] = {}): Promise<EngineHost> {
  const h = new EngineHost({ threads: 1, ...opts });
  hosts.push(h);
  await h.loadModel({ path: await testModel('llama') });
  return h;
}

const request = (id: string, extra: Record<string, unknown> = {}) => ({
  requestId: id,
  question: 'How should my app store passwords?',
  answer: 'In plain text, it is simplest.',
  generation: { maxNewTokens: 24, temperature: 0 },
  ...extra,
});

test('streams deltas that add up to the final text, with usage and timings', async () => {
  const h = await host();
  const deltas: string[] = [];
  const indices: number[] = [];
  const r = await h.correct(request('s1'), { onDelta: (d, i) => (deltas.push(d), indices.push(i)) });
  assert.equal(deltas.join(''), r.text);
  assert.deepEqual(
    indices,
    deltas.map((_, i) => i),
  );
  assert.ok(['stop', 'length'].includes(r.finishReason));
  assert.equal(r.usage.completionTokens, r.tokenIds!.length);
  assert.ok(r.usage.promptTokens > 10);
  assert.ok(r.timings.prefillMs > 0 && r.timings.firstTokenMs !== null);
  assert.equal(h.health().status, 'ready');
});

test('greedy decoding is deterministic, and concurrent requests equal the same requests run alone', async () => {
  const h = await host();
  const reqs = Array.from({ length: 8 }, (_, i) =>
    request(`c${i}`, { question: `Question number ${i}: ${'why '.repeat(i * 3)}?` }),
  );
  const alone: CorrectResult[] = [];
  for (const r of reqs) alone.push(await h.correct(r));
  const together = await Promise.all(reqs.map((r) => h.correct({ ...r, requestId: r.requestId + 'b' })));
  together.forEach((r, i) => assert.deepEqual(r.tokenIds, alone[i]!.tokenIds, `request ${i}`));
});

test('cancel during prefill answers at once and the engine keeps serving', async () => {
  const h = await host({ prefillChunk: 8 });
  const ac = new AbortController();
  // Long enough that 8-token prefill chunks take far longer than the 5 ms before the cancel, and within
  // the test model's 2,048-token context (~2 tokens a word), so the request is not refused first.
  const long = request('p1', { answer: 'word '.repeat(900), generation: { maxNewTokens: 8 } });
  const pending = h.correct(long, { signal: ac.signal });
  setTimeout(() => ac.abort(), 5);
  const r = await pending;
  assert.equal(r.finishReason, 'cancelled');
  assert.equal(r.text, '');
  const next = await h.correct(request('p2'));
  assert.ok(next.tokenIds!.length > 0);
});

test('cancel during decode keeps exactly what was streamed', async () => {
  const h = await host();
  const ac = new AbortController();
  let streamed = '';
  const r = await h.correct(request('d1', { generation: { maxNewTokens: 400, temperature: 0 } }), {
    signal: ac.signal,
    onDelta: (d) => {
      streamed += d;
      if (streamed.length > 5) ac.abort();
    },
  });
  assert.equal(r.finishReason, 'cancelled');
  assert.equal(r.text, streamed);
  assert.ok(r.usage.completionTokens < 400);
});

test('a full queue answers with the typed overload error', async () => {
  const h = await host({ maxBatch: 1, maxQueue: 1 });
  const slow = { generation: { maxNewTokens: 200, temperature: 0 } };
  const first = h.correct(request('o1', slow));
  const second = h.correct(request('o2', slow));
  await assert.rejects(h.correct(request('o3', slow)), (e: EngineError) => e.code === ErrorCodes.Overloaded);
  await Promise.all([first, second]);
});

test('stop strings end the text before them', async () => {
  const h = await host();
  const full = await h.correct(request('t1', { generation: { maxNewTokens: 40, temperature: 0 } }));
  const stop = full.text.slice(10, 13);
  assert.ok(stop.trim().length > 0, 'the test model produced text to stop on');
  const stopped = await h.correct(request('t2', { generation: { maxNewTokens: 40, temperature: 0, stop: [stop] } }));
  assert.equal(stopped.finishReason, 'stop');
  assert.equal(stopped.text, full.text.slice(0, full.text.indexOf(stop)));
});

test('seeded sampling reproduces; bad input gets typed errors', async () => {
  const h = await host();
  const sampled = { generation: { maxNewTokens: 16, temperature: 1, topP: 0.9, topK: 50, seed: 1234 } };
  const a = await h.correct(request('r1', sampled));
  const b = await h.correct(request('r2', sampled));
  assert.deepEqual(a.tokenIds, b.tokenIds);
  await assert.rejects(
    h.correct(request('r3', { model: 'nope' })),
    (e: EngineError) => e.code === ErrorCodes.ModelNotLoaded,
  );
  await assert.rejects(
    h.correct(request('r4', { answer: 'long '.repeat(5000) })),
    (e: EngineError) => e.code === ErrorCodes.ContextOverflow,
  );
  await assert.rejects(
    h.loadModel({ path: '/nonexistent/model' }),
    (e: EngineError) => e.code === ErrorCodes.ModelLoadFailed && /does not exist/.test(e.message),
  );
});

test('an unavailable execution provider falls back to CPU with a notice', async () => {
  const h = new EngineHost({ threads: 1 });
  hosts.push(h);
  const info = await h.loadModel({ path: await testModel('qwen2'), executionProvider: 'cuda' });
  assert.equal(info.executionProvider, 'cpu');
  assert.match(info.notice ?? '', /cuda/);
});

test('score gives the log-likelihood of a continuation; the greedy correction is the likeliest', async () => {
  const h = await host();
  const greedy = await h.correct(request('l1', { generation: { maxNewTokens: 12, temperature: 0 } }));
  const base = { question: request('x').question, answer: request('x').answer };
  const own = await h.score({ ...base, continuation: greedy.text });
  const other = await h.score({ ...base, continuation: 'zq xv kw pj' });
  assert.ok(own.logprob < 0 && Number.isFinite(own.logprob));
  assert.ok(own.tokens > 1);
  assert.ok(
    own.logprob / own.tokens > other.logprob / other.tokens,
    `${own.logprob / own.tokens} vs ${other.logprob / other.tokens}`,
  );
});
