// The proxy's upstream client against small real HTTP servers that misbehave on purpose: status
// mapping, bounded retries and timeouts, and the key kept out of every message. Plus which
// requests and answers pass through uncorrected.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpstreamClient } from '../../../server/proxy/upstreamClient.js';
import { HttpError } from '../../../server/transport/errors.js';
import { parseProxyBody, readUpstreamChoice, requestPassThroughReason } from '../../../server/proxy/proxyRequest.js';

const KEY = 'sk-test-secret-key-123';
const servers: Array<{ close(): void }> = [];
after(() => servers.forEach((s) => s.close()));

async function upstream(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => handler(req, res, ++n));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, calls: () => n };
}

const reply = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const client = (url: string, extra = {}) =>
  new UpstreamClient({ url, model: 'm', key: KEY, retries: 2, backoffMs: 1, timeoutMs: 2000, ...extra });
const signal = () => new AbortController().signal;

async function failure(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof HttpError, String(e));
    assert.ok(!e.message.includes(KEY), 'the key is never in a message');
    return e;
  }
  throw new Error('expected a failure');
}

test('sends the key as a bearer token and retries 5xx a bounded number of times', async () => {
  const u = await upstream((req, res, n) => {
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    if (n < 3) return reply(res, 503, { error: { message: 'busy' } });
    reply(res, 200, { choices: [{ message: { role: 'assistant', content: 'ok' } }] });
  });
  const answer = await client(u.url).complete({ messages: [] }, signal());
  assert.equal(answer.attempts, 3);
  const always = await upstream((_req, res) => reply(res, 500, { error: { message: 'down' } }));
  const e = await failure(client(always.url).complete({}, signal()));
  assert.deepEqual([e.status, e.code, always.calls()], [502, 'upstream_error', 3]);
});

test("the client's mistakes keep their status; the proxy's own key failing is a 502, not a 401", async () => {
  const bad = await upstream((_req, res) =>
    reply(res, 400, { error: { message: 'too long', code: 'context_length_exceeded', param: 'messages' } }),
  );
  const e400 = await failure(client(bad.url).complete({}, signal()));
  assert.deepEqual([e400.status, e400.code, e400.param, bad.calls()], [400, 'context_length_exceeded', 'messages', 1]);
  const auth = await upstream((_req, res) => reply(res, 401, { error: { message: 'bad key' } }));
  const e401 = await failure(client(auth.url).complete({}, signal()));
  assert.deepEqual([e401.status, e401.code, auth.calls()], [502, 'upstream_auth_failed', 1]);
  const limited = await upstream((_req, res) =>
    reply(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '0' }),
  );
  const e429 = await failure(client(limited.url, { retries: 1 }).complete({}, signal()));
  assert.deepEqual([e429.status, e429.type, limited.calls()], [429, 'rate_limit_error', 2]);
  assert.equal(e429.body().error.message.startsWith('Upstream answered 429'), true);
});

test('a silent upstream times out per attempt (504), an absent one is unreachable (502)', async () => {
  const silent = await upstream(() => {});
  const e = await failure(client(silent.url, { timeoutMs: 100, retries: 1 }).complete({}, signal()));
  assert.deepEqual([e.status, e.code, silent.calls()], [504, 'upstream_timeout', 2]);
  const e2 = await failure(client('http://127.0.0.1:9/v1', { retries: 0 }).complete({}, signal()));
  assert.deepEqual([e2.status, e2.code], [502, 'upstream_unavailable']);
  const junk = await upstream((_req, res) => res.end('<html>'));
  const e3 = await failure(client(junk.url, { retries: 0 }).complete({}, signal()));
  assert.equal(e3.code, 'upstream_bad_response');
});

test('which requests pass through uncorrected, and why', () => {
  const user = [{ role: 'user', content: 'Q' }];
  const reason = (extra: object) => requestPassThroughReason(parseProxyBody({ messages: user, ...extra }));
  assert.equal(reason({}), null);
  assert.equal(reason({ tools: [{ type: 'function' }] }), 'tools');
  assert.equal(reason({ tools: [] }), null);
  assert.equal(reason({ n: 2 }), 'multiple_choices');
  assert.equal(reason({ response_format: { type: 'json_object' } }), 'structured_output');
  assert.equal(reason({ response_format: { type: 'text' } }), null);
  const image = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:' } }] }];
  assert.equal(requestPassThroughReason(parseProxyBody({ messages: image })), 'images');
  const tool = [...user, { role: 'tool', content: 'result', tool_call_id: 'x' }];
  assert.equal(requestPassThroughReason(parseProxyBody({ messages: tool })), 'tool_messages');
  const parts = [{ role: 'user', content: [{ type: 'text', text: 'Q' }] }];
  assert.equal(requestPassThroughReason(parseProxyBody({ messages: parts })), null);

  assert.equal(readUpstreamChoice({ choices: [{ message: { content: 'A' }, finish_reason: 'stop' }] }).reason, null);
  const call = { tool_calls: [{ id: '1', type: 'function', function: { name: 'f', arguments: '{}' } }], content: null };
  assert.equal(readUpstreamChoice({ choices: [{ message: call, finish_reason: 'tool_calls' }] }).reason, 'tool_calls');
  assert.equal(readUpstreamChoice({ choices: [{ message: { content: null } }] }).reason, 'no_text_answer');
  assert.throws(() => readUpstreamChoice({}), HttpError);
});
