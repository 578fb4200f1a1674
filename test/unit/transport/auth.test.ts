// Token helpers and admission rules, without sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  extractToken,
  generateToken,
  isValidTokenFormat,
  readTokenFile,
  tokensEqual,
  writeTokenFile,
} from '../../../server/transport/auth.js';
import { isOriginAllowed, loopbackHosts } from '../../../server/transport/guards.js';
import { TOKEN_FILE_NAME } from '../../../server/protocol/index.js';

test('generateToken: 32 random bytes as base64url, different each time', () => {
  const a = generateToken();
  const b = generateToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a, 'base64url').length, 32);
  assert.notEqual(a, b);
  assert.ok(isValidTokenFormat(a));
});

test('writeTokenFile creates a 0600 file (replacing a looser one) that readTokenFile reads back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'aligner-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'state', TOKEN_FILE_NAME);
  const token = generateToken();
  await writeTokenFile(path, token);
  if (process.platform !== 'win32') assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(await readTokenFile(path), token);

  // A pre-existing world-readable file is replaced by a fresh 0600 one, not rewritten in place.
  await writeFile(path, 'old', { mode: 0o644 });
  const token2 = generateToken();
  await writeTokenFile(path, token2);
  if (process.platform !== 'win32') assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(await readTokenFile(path), token2);

  await writeFile(path, 'not a token!');
  await assert.rejects(readTokenFile(path), /valid token/);
  await assert.rejects(writeTokenFile(path, 'bad token'), /malformed/);
});

test('tokensEqual compares exactly, whatever the lengths', () => {
  const t = generateToken();
  assert.ok(tokensEqual(t, t));
  assert.ok(!tokensEqual(t, t.slice(0, -1)));
  assert.ok(!tokensEqual(t, `${t}x`));
  assert.ok(!tokensEqual(t, ''));
});

test('extractToken takes exactly one bearer token', () => {
  const t = generateToken();
  const sub = `${BEARER_SUBPROTOCOL_PREFIX}${t}`;
  assert.deepEqual(extractToken(['Authorization', `Bearer ${t}`], false), { ok: true, token: t });
  assert.deepEqual(extractToken(['authorization', `bearer ${t}`], false), { ok: true, token: t });
  assert.deepEqual(extractToken(['Sec-WebSocket-Protocol', `aligner.jsonrpc, ${sub}`], true), { ok: true, token: t });
  assert.equal(extractToken(['Sec-WebSocket-Protocol', sub], false).ok, false, 'subprotocol only on upgrades');
  assert.equal(extractToken([], false).ok, false);
  assert.equal(extractToken(['Authorization', `Basic ${t}`], false).ok, false);
  assert.equal(extractToken(['Authorization', `Bearer ${t}, Bearer ${t}`], false).ok, false);
  assert.equal(extractToken(['Authorization', `Bearer ${t}`, 'Authorization', `Bearer ${t}`], false).ok, false);
  assert.equal(extractToken(['Authorization', `Bearer ${t}`, 'Sec-WebSocket-Protocol', sub], true).ok, false);
  assert.equal(extractToken(['Sec-WebSocket-Protocol', `${sub}, ${sub}`], true).ok, false);
});

test('Origin allow-list', () => {
  const extra = new Set(['http://localhost:5173']);
  for (const o of ['vscode-webview://0abc123', 'vscode-file://vscode-app', 'http://localhost:5173']) {
    assert.ok(isOriginAllowed(o, extra), o);
  }
  for (const o of [
    'null',
    'https://evil.com',
    'http://localhost.evil.com',
    'http://localhost:5174',
    'http://localhost:5173.evil.com',
    'vscode-webview://x/../evil',
    'vscode-file://vscode-app.evil.com',
    '',
  ]) {
    assert.ok(!isOriginAllowed(o, extra), o);
  }
});

test('loopback Host values carry the port', () => {
  assert.deepEqual([...loopbackHosts(8080)].sort(), ['127.0.0.1:8080', '[::1]:8080', 'localhost:8080']);
  assert.ok(loopbackHosts(8080, '192.168.1.5').has('192.168.1.5:8080'));
  assert.equal(loopbackHosts(8080, '0.0.0.0').size, 3);
});
