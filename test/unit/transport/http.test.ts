// The OpenAI-compatible HTTP routes over real sockets, against a FakeService.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../../server/transport/server.js';
import { expectedDeltas, MODEL_ID } from './fakeService.js';
import { authHeaders, httpRequest, sseData, startHarness, type Harness } from './helpers.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const json = (token: string) => authHeaders(token, { 'content-type': 'application/json' });

function chat(body: unknown, headers?: Record<string, string>) {
  return httpRequest(h.server.url, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: headers ?? json(h.token),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const messages = [
  { role: 'system', content: 'You are helpful.' },
  { role: 'user', content: 'Earlier question' },
  { role: 'assistant', content: 'Earlier answer' },
  { role: 'user', content: 'What is 2+2?' },
  { role: 'assistant', content: [{ type: 'text', text: 'It is 5.' }] },
];

describe('GET /health and /v1/models', () => {
  test('/health reports the service health; 503 while loading', async () => {
    const r = await httpRequest(h.server.url, { path: '/health', headers: authHeaders(h.token) });
    assert.equal(r.status, 200);
    assert.equal(r.json().status, 'ready');
    assert.equal(r.json().model, MODEL_ID);
    h.service.healthStatus = 'loading';
    try {
      const loading = await httpRequest(h.server.url, { path: '/health', headers: authHeaders(h.token) });
      assert.equal(loading.status, 503);
      assert.equal(loading.json().status, 'loading');
    } finally {
      h.service.healthStatus = 'ready';
    }
  });

  test('/v1/models is an OpenAI model list', async () => {
    const r = await httpRequest(h.server.url, { path: '/v1/models', headers: authHeaders(h.token) });
    assert.equal(r.status, 200);
    const body = r.json();
    assert.equal(body.object, 'list');
    assert.equal(body.data.length, 1);
    assert.deepEqual(Object.keys(body.data[0]).sort(), ['created', 'id', 'object', 'owned_by', 'role']);
    assert.equal(body.data[0].role, 'aligner', 'our extension: aligner, chat or upstream');
    assert.equal(body.data[0].id, MODEL_ID);
    assert.equal(body.data[0].object, 'model');
    assert.equal(body.data[0].owned_by, 'aligner');
    assert.equal(typeof body.data[0].created, 'number');
  });

  test('unknown paths -> 404, wrong methods -> 405', async () => {
    const r = await httpRequest(h.server.url, { path: '/v1/embeddings', headers: authHeaders(h.token) });
    assert.equal(r.status, 404);
    assert.equal(r.json().error.code, 'not_found');
    const g = await httpRequest(h.server.url, { path: '/v1/chat/completions', headers: authHeaders(h.token) });
    assert.equal(g.status, 405);
    assert.equal(g.headers.allow, 'POST');
  });
});

describe('POST /v1/chat/completions', () => {
  test('non-streaming: the assistant message is the correction, OpenAI-shaped', async () => {
    const r = await chat({ model: MODEL_ID, messages, max_tokens: 64, temperature: 0, seed: 7, stop: 'END' });
    assert.equal(r.status, 200);
    const body = r.json();
    assert.match(body.id, /^chatcmpl-[0-9a-f]{24}$/);
    assert.equal(body.object, 'chat.completion');
    assert.equal(typeof body.created, 'number');
    assert.equal(body.model, MODEL_ID);
    assert.equal(body.choices.length, 1);
    assert.equal(body.choices[0].index, 0);
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.equal(body.choices[0].message.role, 'assistant');
    const expected = expectedDeltas({ question: 'What is 2+2?', answer: 'It is 5.' }).join('');
    assert.equal(body.choices[0].message.content, expected);
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);

    // The mapping onto the engine input.
    const input = h.service.inputs.at(-1)!;
    assert.equal(input.requestId, body.id);
    assert.equal(input.model, MODEL_ID);
    assert.equal(input.question, 'What is 2+2?');
    assert.equal(input.answer, 'It is 5.');
    assert.deepEqual(input.context, [
      { role: 'user', content: 'Earlier question' },
      { role: 'assistant', content: 'Earlier answer' },
    ]);
    assert.deepEqual(input.generation, { maxNewTokens: 64, temperature: 0, seed: 7, stop: ['END'] });
  });

  test('max_completion_tokens wins over max_tokens; nulls mean unset; unknown fields are ignored', async () => {
    const r = await chat({
      messages: messages.slice(3),
      max_tokens: 10,
      max_completion_tokens: 20,
      top_p: null,
      user: 'someone',
      presence_penalty: 0,
    });
    assert.equal(r.status, 200);
    const input = h.service.inputs.at(-1)!;
    assert.deepEqual(input.generation, { maxNewTokens: 20 });
    assert.equal(input.context, undefined);
    assert.equal(input.model, undefined);
  });

  test('streaming: SSE chunks carry the deltas, then a finish chunk, usage on request, then [DONE]', async () => {
    const r = await chat({ messages, stream: true, stream_options: { include_usage: true } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/event-stream/);
    const data = sseData(r.text);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const id = chunks[0].id;
    assert.match(id, /^chatcmpl-/);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, id);
      assert.equal(typeof c.created, 'number');
      assert.equal(c.model, MODEL_ID);
    }
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    const expected = expectedDeltas({ question: 'What is 2+2?', answer: 'It is 5.' });
    const contentChunks = chunks.slice(1, 1 + expected.length);
    assert.deepEqual(
      contentChunks.map((c) => c.choices[0].delta.content),
      expected,
    );
    assert.ok(contentChunks.every((c) => c.choices[0].finish_reason === null));
    const finish = chunks[1 + expected.length];
    assert.deepEqual(finish.choices[0].delta, {});
    assert.equal(finish.choices[0].finish_reason, 'stop');
    const usage = chunks[2 + expected.length];
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + usage.usage.completion_tokens);
    assert.equal(chunks.length, 3 + expected.length);
  });

  test('a client that disconnects mid-stream cancels the generation', async () => {
    const url = new URL('/v1/chat/completions', h.server.url);
    const requestId = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: json(h.token),
          agent: false,
        },
        (res) => {
          res.once('data', () => {
            // First chunk received: the engine is generating. Hang up.
            resolve(h.service.inputs.at(-1)!.requestId);
            req.destroy();
          });
        },
      );
      req.on('error', () => {});
      req.on('close', () => {});
      req.once('error', reject);
      req.end(
        JSON.stringify({
          stream: true,
          messages: [
            { role: 'user', content: 'slow' },
            { role: 'assistant', content: 'x' },
          ],
        }),
      );
    });
    await h.service.waitForAbort(requestId);
  });

  test('a body without an assistant draft -> 400', async () => {
    for (const msgs of [
      [{ role: 'user', content: 'Question only' }],
      [
        { role: 'assistant', content: 'draft' },
        { role: 'user', content: 'question last' },
      ],
      [
        { role: 'system', content: 's' },
        { role: 'assistant', content: 'draft without a question' },
      ],
    ]) {
      const r = await chat({ messages: msgs });
      assert.equal(r.status, 400);
      assert.equal(r.json().error.type, 'invalid_request_error');
      assert.equal(typeof r.json().error.message, 'string');
    }
  });

  test('invalid bodies -> 400 naming the field', async () => {
    const bad = await chat({ messages, temperature: 'hot' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error.param, 'temperature');
    assert.equal((await chat({ messages, n: 2 })).status, 400);
    assert.equal((await chat({ messages, max_tokens: 0 })).status, 400);
    assert.equal((await chat({ messages: 'hi' })).status, 400);
    assert.equal((await chat({})).status, 400);
    const notJson = await chat('{"messages": [');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json().error.code, 'invalid_json');
  });

  test('a non-JSON Content-Type -> 415', async () => {
    const r = await chat({ messages }, authHeaders(h.token, { 'content-type': 'text/plain' }));
    assert.equal(r.status, 415);
  });

  test('an oversized body -> 413 (declared length or streamed), and the server keeps serving', async () => {
    const big = JSON.stringify({ messages, pad: 'x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES) });
    const r = await chat(big);
    assert.equal(r.status, 413);
    assert.equal(r.json().error.code, 'request_too_large');

    // Chunked upload without a Content-Length: the cap applies while reading.
    const url = new URL('/v1/chat/completions', h.server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: json(h.token),
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (e) => reject(e));
      const piece = Buffer.alloc(256 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent <= DEFAULT_MAX_PAYLOAD_BYTES + piece.length) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(status, 413);
    assert.equal((await chat({ messages })).status, 200);
  });

  test('engine errors map to OpenAI errors with the right status', async () => {
    const ask = (question: string, extra: object = {}) =>
      chat({
        messages: [
          { role: 'user', content: question },
          { role: 'assistant', content: 'a' },
        ],
        ...extra,
      });
    const overflow = await ask('throw-engine');
    assert.equal(overflow.status, 400);
    assert.equal(overflow.json().error.code, 'context_length_exceeded');
    const overloaded = await ask('throw-overloaded');
    assert.equal(overloaded.status, 503);
    assert.equal(overloaded.headers['retry-after'], '1');
    assert.equal(overloaded.json().error.code, 'overloaded');
    const unknownModel = await ask('q', { model: 'gpt-4o' });
    assert.equal(unknownModel.status, 404);
    assert.equal(unknownModel.json().error.code, 'model_not_found');
    const internal = await ask('throw-internal');
    assert.equal(internal.status, 500);
    assert.deepEqual(internal.json().error.message, 'Internal error');
    assert.ok(!internal.text.includes('secret'), 'no internal detail leaks');
    // Streaming requests that fail before any text still get a real status.
    const streamed = await ask('throw-overloaded', { stream: true });
    assert.equal(streamed.status, 503);
  });

  test('server close() cancels in-flight HTTP generations and ends their responses', async () => {
    const own = await startHarness();
    const url = new URL('/v1/chat/completions', own.server.url);
    const ended = new Promise<void>((resolve, reject) => {
      const req = request(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: json(own.token),
          agent: false,
        },
        (res) => {
          res.once('data', () => void own.close());
          res.on('data', () => {});
          res.on('close', () => resolve());
        },
      );
      req.once('error', reject);
      req.end(
        JSON.stringify({
          stream: true,
          messages: [
            { role: 'user', content: 'slow' },
            { role: 'assistant', content: 'x' },
          ],
        }),
      );
    });
    await ended;
    await own.service.waitForAbort(own.service.inputs[0].requestId);
    await own.close();
  });
});
