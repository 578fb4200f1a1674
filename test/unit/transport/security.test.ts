// The local-server security checklist, each item against real sockets: bearer token (missing,
// wrong, repeated), Origin allow-list, Host allow-list (DNS rebinding), size caps, loopback bind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAligner } from '../../../server/transport/client.js';
import { BEARER_SUBPROTOCOL_PREFIX, generateToken } from '../../../server/transport/auth.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, startTransport, WS_SUBPROTOCOL } from '../../../server/transport/server.js';
import { HealthRequest, PROTOCOL_VERSION } from '../../../server/protocol/index.js';
import { FakeService } from './fakeService.js';
import { authHeaders, httpRequest, RawClient, startHarness, upgradeStatus, type Harness } from './helpers.js';

let h: Harness;
before(async () => {
  h = await startHarness({ allowedOrigins: ['http://localhost:5173/'] });
});
after(async () => {
  await h.close();
  // Nothing the server logged, refusals included, may contain a token.
  for (const line of h.logs) assert.ok(!line.includes(h.token), 'the token must never be logged');
});

const wrongToken = generateToken();

describe('bind address', () => {
  test('binds 127.0.0.1 by default and reports loopback URLs', () => {
    assert.match(h.server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(h.server.wsUrl, `ws://127.0.0.1:${h.server.port}/rpc`);
  });

  test('refuses to start with an empty or weak token', async () => {
    for (const token of ['', 'short', 'has spaces in it and is long', `${generateToken()}\r\nX: y`]) {
      await assert.rejects(startTransport({ service: new FakeService(), token }), /token/);
    }
  });
});

describe('WebSocket upgrade', () => {
  test('no token -> 401 before the handshake', async () => {
    assert.equal(await upgradeStatus(h.server.wsUrl), 401);
  });

  test('wrong token -> 401', async () => {
    assert.equal(await upgradeStatus(h.server.wsUrl, { headers: authHeaders(wrongToken) }), 401);
    assert.equal(await upgradeStatus(h.server.wsUrl, { headers: { authorization: `Basic ${h.token}` } }), 401);
    assert.equal(await upgradeStatus(h.server.wsUrl, { headers: { authorization: `Bearer ${h.token}x` } }), 401);
  });

  test('repeated token -> 401 (two headers, two values in one, header plus subprotocol)', async () => {
    const bearer = `Bearer ${h.token}`;
    assert.equal(await upgradeStatus(h.server.wsUrl, { headers: { authorization: [bearer, bearer] as never } }), 401);
    assert.equal(await upgradeStatus(h.server.wsUrl, { headers: { authorization: `${bearer}, ${bearer}` } }), 401);
    const sub = `${BEARER_SUBPROTOCOL_PREFIX}${h.token}`;
    assert.equal(await upgradeStatus(h.server.wsUrl, { headers: { authorization: bearer } }, [sub]), 401);
  });

  test('the token as a subprotocol (browser clients) is accepted and the subprotocol echoed', async () => {
    const sub = `${BEARER_SUBPROTOCOL_PREFIX}${h.token}`;
    const raw = await RawClient.open(h.server.wsUrl, {}, [sub]);
    assert.equal(raw.ws.protocol, sub);
    assert.equal((await raw.call(1, 'initialize', { protocolVersion: PROTOCOL_VERSION })).result.protocolVersion, 1);
    await raw.close();
    const raw2 = await RawClient.open(h.server.wsUrl, {}, [WS_SUBPROTOCOL, sub]);
    assert.equal(raw2.ws.protocol, WS_SUBPROTOCOL);
    await raw2.close();
    assert.equal(await upgradeStatus(h.server.wsUrl, {}, [`${BEARER_SUBPROTOCOL_PREFIX}${wrongToken}`]), 401);
  });

  test('hostile Origins -> 403, even with the right token', async () => {
    for (const origin of [
      'https://evil.com',
      'http://localhost.evil.com',
      'null',
      'http://127.0.0.1:1',
      'vscode-webview://x/evil',
    ]) {
      assert.equal(await upgradeStatus(h.server.wsUrl, { headers: authHeaders(h.token), origin }), 403, origin);
    }
  });

  test('no Origin, VS Code origins and configured origins are allowed', async () => {
    for (const origin of [
      undefined,
      'vscode-webview://1a2b3c4d5e',
      'vscode-file://vscode-app',
      'http://localhost:5173',
    ]) {
      const c = await connectAligner(h.server.wsUrl, h.token, origin ? { origin } : {});
      assert.equal((await c.connection.sendRequest(HealthRequest, undefined)).status, 'ready');
      await c.close();
    }
  });

  test('a rebound Host -> 403', async () => {
    for (const host of [
      `evil.com:${h.server.port}`,
      'localhost',
      `127.0.0.1:${h.server.port + 1}`,
      `localhost.evil.com:${h.server.port}`,
    ]) {
      assert.equal(await upgradeStatus(h.server.wsUrl, { headers: { ...authHeaders(h.token), host } }), 403, host);
    }
    // All loopback spellings with our port pass.
    for (const host of [`localhost:${h.server.port}`, `[::1]:${h.server.port}`, `LOCALHOST:${h.server.port}`]) {
      const raw = await RawClient.open(h.server.wsUrl, { headers: { ...authHeaders(h.token), host } });
      await raw.close();
    }
  });

  test('an upgrade to another path -> 404', async () => {
    assert.equal(
      await upgradeStatus(h.server.url.replace('http', 'ws') + '/other', { headers: authHeaders(h.token) }),
      404,
    );
  });

  test('an oversized frame closes that socket with 1009; other clients keep being served', async () => {
    const bystander = await connectAligner(h.server.wsUrl, h.token);
    const raw = await RawClient.open(h.server.wsUrl, { headers: authHeaders(h.token) });
    raw.sendRaw('x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES + 1));
    const { code } = await raw.closed;
    assert.equal(code, 1009);
    assert.equal((await bystander.connection.sendRequest(HealthRequest, undefined)).status, 'ready');
    const fresh = await connectAligner(h.server.wsUrl, h.token);
    assert.equal((await fresh.connection.sendRequest(HealthRequest, undefined)).status, 'ready');
    await Promise.all([bystander.close(), fresh.close()]);
  });

  test('maxPayloadBytes is configurable', async () => {
    const small = await startHarness({ maxPayloadBytes: 1024 });
    const raw = await RawClient.open(small.server.wsUrl, { headers: authHeaders(small.token) });
    raw.send({ id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION } });
    assert.equal((await raw.next()).id, 1);
    raw.send({ id: 2, method: 'correct', params: { requestId: 'big', question: 'q'.repeat(2000), answer: 'a' } });
    assert.equal((await raw.closed).code, 1009);
    await small.close();
  });
});

describe('HTTP', () => {
  const get = (headers: Record<string, string | string[]>, path = '/v1/models') =>
    httpRequest(h.server.url, { path, headers });

  test('no token -> 401 in the OpenAI error shape, with WWW-Authenticate', async () => {
    for (const path of ['/health', '/v1/models', '/nope']) {
      const r = await get({}, path);
      assert.equal(r.status, 401, path);
      assert.equal(r.headers['www-authenticate'], 'Bearer');
      assert.equal(r.json().error.type, 'authentication_error');
      assert.equal(r.json().error.code, 'invalid_api_key');
    }
  });

  test('wrong token -> 401', async () => {
    assert.equal((await get(authHeaders(wrongToken))).status, 401);
    assert.equal((await get({ authorization: h.token })).status, 401);
  });

  test('repeated token -> 401', async () => {
    const host = `127.0.0.1:${h.server.port}`;
    const bearer = `Bearer ${h.token}`;
    const twice = await httpRequest(h.server.url, {
      path: '/v1/models',
      rawHeaders: ['Host', host, 'Authorization', bearer, 'Authorization', bearer],
    });
    assert.equal(twice.status, 401);
    assert.equal((await get({ authorization: `${bearer}, ${bearer}` })).status, 401);
    assert.equal((await get({ authorization: bearer })).status, 200);
  });

  test('a rebound Host -> 403', async () => {
    const r = await get({ ...authHeaders(h.token), host: `evil.com:${h.server.port}` });
    assert.equal(r.status, 403);
    assert.equal(r.json().error.code, 'invalid_host');
    const host = `127.0.0.1:${h.server.port}`;
    const twoHosts = await httpRequest(h.server.url, {
      path: '/v1/models',
      rawHeaders: ['Host', host, 'Host', 'evil.com', 'Authorization', `Bearer ${h.token}`],
    }).catch(() => ({ status: 400 }));
    assert.ok([400, 403].includes(twoHosts.status), `two Host headers: ${twoHosts.status}`);
  });

  test('a hostile Origin -> 403', async () => {
    const r = await get({ ...authHeaders(h.token), origin: 'https://evil.com' });
    assert.equal(r.status, 403);
    assert.equal(r.json().error.code, 'invalid_origin');
  });
});
