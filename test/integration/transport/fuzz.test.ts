// Fuzzing the real server (`aligner serve`, a child process with a test model) over loopback: over
// 20,000 random and mutated WebSocket frames and HTTP requests in classes (garbage, bad JSON,
// batches, huge numbers, deep nesting, mutated requests, binary frames, invalid UTF-8, oversize
// frames and bodies, raw TCP). The server must never crash or hang: after each class it is still
// running and answers health over WebSocket and HTTP. Counts are printed; ALIGNER_FUZZ_SEED replays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connectAligner } from '../../../server/transport/client.js';
import { HealthRequest } from '../../../server/protocol/index.js';
import { Rng } from '../../../server/util/rng.js';
import { startServe, type ServeProcess } from '../../helpers/serveProcess.js';
import { testModel } from '../../helpers/testModels.js';

const SEED = Number(process.env.ALIGNER_FUZZ_SEED ?? Date.now() % 2 ** 31);
const MAX_PAYLOAD = 256 * 1024;

/** The project's seeded generator (mulberry32), with the helpers the mutations use. */
function rng(seed: number) {
  const g = new Rng(seed);
  const next = () => g.uniform();
  return {
    next,
    int: (n: number) => g.int(n),
    pick: <T>(xs: readonly T[]): T => g.pick(xs),
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}
const r = rng(SEED);

// ---------------------------------------------------------------- what is sent
/** Valid requests, the seeds of mutation. Generation stays tiny: the model's aligner.json caps it too. */
const VALID: object[] = [
  { jsonrpc: '2.0', id: 1, method: 'health' },
  { jsonrpc: '2.0', id: 2, method: 'models/list' },
  { jsonrpc: '2.0', id: 3, method: 'server/info' },
  { jsonrpc: '2.0', id: 4, method: 'cancel', params: { requestId: 'x' } },
  {
    jsonrpc: '2.0',
    id: 5,
    method: 'correct',
    params: { requestId: 'f', question: 'Q?', answer: 'A.', generation: { maxNewTokens: 2, temperature: 0 } },
  },
  { jsonrpc: '2.0', id: 6, method: 'score', params: { question: 'Q', answer: 'A', continuation: 'C' } },
  { jsonrpc: '2.0', id: 7, method: 'models/load', params: { path: '/etc' } },
  { jsonrpc: '2.0', id: 8, method: 'jobs/get', params: { jobId: 'nope' } },
  {
    jsonrpc: '2.0',
    id: 9,
    method: 'jobs/start',
    params: { kind: 'eval', config: { model: '/etc', data: ['/etc/shadow'] } },
  },
  { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 5 } },
];

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  '',
  'x'.repeat(300),
  '\u0000',
  '\ud800',
  '🦜'.repeat(50),
  [],
  {},
  [[[]]],
  { __proto__: { polluted: true } },
  'constructor',
  '__proto__',
  'toString',
];
const METHODS = [
  'initialize',
  'health',
  'correct',
  'jobs/start',
  'hasOwnProperty',
  '__proto__',
  '$/cancelRequest',
  'rpc.x',
];

/** Structure-aware: replace, delete or add one field somewhere in a valid request. */
function mutateValue(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null || depth > 4 || r.next() < 0.25) return r.pick(ODD_VALUES);
  const copy: Record<string, unknown> = Array.isArray(v) ? ({ ...v } as Record<string, unknown>) : { ...v };
  const keys = Object.keys(copy);
  const roll = r.next();
  if (roll < 0.2 || keys.length === 0)
    copy[r.pick(['extra', '__proto__', 'constructor', 'method', 'id'])] = r.pick(ODD_VALUES);
  else if (roll < 0.35) delete copy[r.pick(keys)];
  else {
    const k = r.pick(keys);
    copy[k] = k === 'method' && r.next() < 0.5 ? r.pick(METHODS) : mutateValue(copy[k], depth + 1);
  }
  return Array.isArray(v) ? Object.values(copy) : copy;
}

const mutated = () => JSON.stringify(mutateValue(r.pick(VALID)));

/** Text-level damage: cut, duplicate, flip or insert characters of a valid frame. */
function badJson(): string {
  const s = JSON.stringify(r.pick(VALID));
  const at = r.int(s.length);
  switch (r.int(4)) {
    case 0:
      return s.slice(0, at);
    case 1:
      return s.slice(0, at) + s.slice(at + 1 + r.int(5));
    case 2:
      return s.slice(0, at) + r.pick(['{', '}', '"', ',', ':', '[', '\\', '\n', 'NaN', 'undefined']) + s.slice(at);
    default:
      return s + s;
  }
}

const garbage = () => r.bytes(1 + r.int(200)).toString('latin1');

function batch(): string {
  const n = r.int(6);
  const items = Array.from({ length: n }, () => (r.next() < 0.5 ? r.pick(VALID) : mutateValue(r.pick(VALID))));
  return JSON.stringify(r.next() < 0.2 ? [items] : items);
}

function hugeNumbers(): string {
  const n = r.pick([
    '1e400',
    '-1e400',
    '123456789012345678901234567890',
    '0.0000000000000000000001',
    '-0',
    '1E+999999',
  ]);
  return r.pick([
    `{"jsonrpc":"2.0","id":${n},"method":"health"}`,
    `{"jsonrpc":"2.0","id":1,"method":"correct","params":{"requestId":"h","question":"q","answer":"a","generation":{"maxNewTokens":${n}}}}`,
    `{"jsonrpc":"2.0","id":1,"method":"cancel","params":{"requestId":${n}}}`,
    `[${n}]`,
    n,
  ]);
}

/** 0xFF never occurs in UTF-8; the rest is random. */
const invalidUtf8 = () =>
  Buffer.concat([Buffer.from('{"a":"'), r.bytes(r.int(8)), Buffer.from([0xff]), r.bytes(r.int(8)), Buffer.from('"}')]);

/** Up to 40,000 levels: the deepest still fit in one frame under the server's 256 KiB cap. */
function deepNesting(): string {
  const depth = 1000 + r.int(39_000);
  if (r.next() < 0.5) return '['.repeat(depth) + ']'.repeat(depth);
  const inner = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  return `{"jsonrpc":"2.0","id":1,"method":"correct","params":${inner}}`;
}

// ---------------------------------------------------------------- how it is sent
const counts: Record<string, number> = {};
const count = (cls: string, n = 1) => (counts[cls] = (counts[cls] ?? 0) + n);

let server: ServeProcess;
const auth = () => ({ authorization: `Bearer ${server.token}` });

function openSocket(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, { headers: auth(), perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** An initialized connection that counts answers, so a sentinel request tells when all were handled. */
async function fuzzSocket() {
  const ws = await openSocket();
  ws.on('error', () => {});
  const waiting = new Map<string, () => void>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    try {
      const msg = JSON.parse(data.toString()) as { id?: unknown };
      if (typeof msg.id === 'string') waiting.get(msg.id)?.();
    } catch {
      // not ours to judge here
    }
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const ask = (id: string, method: string, params?: object) =>
    Promise.race([
      new Promise<boolean>((resolve) => {
        waiting.set(id, () => resolve(true));
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }));
      }),
      closed.then(() => false),
    ]);
  await ask('init', 'initialize', { protocolVersion: 1 });
  return { ws, ask, closed };
}

/** Sends `n` frames made by `make` over one connection in bursts; reconnects when the server closes it. */
async function wsClass(cls: string, n: number, make: () => string | Buffer, binary = false): Promise<void> {
  let s = await fuzzSocket();
  for (let sent = 0; sent < n;) {
    const burst = Math.min(250, n - sent);
    for (let i = 0; i < burst && s.ws.readyState === WebSocket.OPEN; i++, sent++) {
      s.ws.send(make(), { binary });
      count(cls);
    }
    // Frames are handled in order: once the sentinel is answered, the burst has been.
    if (!(await s.ask(`sentinel-${sent}`, 'health'))) {
      count(`${cls}: connection closed by the server`);
      s = await fuzzSocket();
    }
  }
  s.ws.close();
}

/** Frames the server must answer by closing the connection (1007 invalid UTF-8, 1009 too big). */
async function closingClass(cls: string, n: number, make: () => Buffer | string, expectCode: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const ws = await openSocket();
    ws.on('error', () => {});
    const code = await new Promise<number>((resolve) => {
      ws.once('close', (c) => resolve(c));
      ws.send(make(), { binary: false });
    });
    assert.equal(code, expectCode, `${cls}: close code`);
    count(cls);
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function http(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(server.url + path, { method, headers, agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(-1));
    });
    req.once('error', () => resolve(-1));
    req.end(body);
  });
}

function chatBody(): string {
  const valid = {
    messages: [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'A' },
    ],
    max_tokens: 2,
  };
  const roll = r.next();
  if (roll < 0.4) return JSON.stringify(mutateValue(valid));
  if (roll < 0.6) return JSON.stringify(valid).slice(0, r.int(60));
  if (roll < 0.7) return JSON.stringify({ ...valid, stream: true });
  if (roll < 0.8) return '['.repeat(20_000) + ']'.repeat(20_000);
  return garbage();
}

async function httpClass(n: number): Promise<void> {
  const paths = [
    '/health',
    '/v1/models',
    '/v1/chat/completions',
    '/v1/completions',
    '/rpc',
    '/',
    '/%2e%2e/etc',
    '/v1/../health',
  ];
  const types = ['application/json', 'text/plain', 'application/json; charset=utf-16', '', 'multipart/form-data'];
  for (let i = 0; i < n; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, async () => {
        const oversize = r.next() < 0.01;
        const method = r.pick(['GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS']);
        const headers: Record<string, string> = r.next() < 0.1 ? {} : auth();
        const type = r.pick(types);
        if (type) headers['content-type'] = type;
        const body = oversize
          ? Buffer.alloc(MAX_PAYLOAD + 1 + r.int(1000), 'a')
          : method === 'GET'
            ? undefined
            : r.next() < 0.1
              ? r.bytes(50)
              : chatBody();
        const status = await http(method, r.pick(paths), headers, body);
        count(oversize ? 'http oversize bodies' : 'http requests');
        if (status >= 500 && status !== 503) count(`http ${status}`);
      }),
    );
  }
}

async function rawTcp(n: number): Promise<void> {
  const port = Number(server.listening.port);
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end(
          r.next() < 0.5 ? r.bytes(1 + r.int(2000)) : `GET / HTTP/1.1\r\nHost: ${'x'.repeat(r.int(20_000))}\r\n\r\n`,
        );
      });
      socket.on('data', () => {});
      socket.setTimeout(5_000, () => socket.destroy());
      socket.once('close', () => resolve());
      socket.once('error', () => resolve());
    });
    count('raw tcp');
  }
}

/** The server is up and answers health over a fresh WebSocket and over HTTP, promptly. */
async function healthy(after: string): Promise<void> {
  assert.ok(server.alive(), `the server died after ${after}: ${server.output().slice(-2000)}`);
  const timeout = <T>(p: Promise<T>) =>
    Promise.race([
      p,
      new Promise<never>((_, no) => setTimeout(() => no(new Error(`health hung after ${after}`)), 15_000).unref()),
    ]);
  const client = await timeout(connectAligner(server.wsUrl, server.token));
  try {
    const health = await timeout(client.connection.sendRequest(HealthRequest));
    assert.equal(health.status, 'ready', `health after ${after}`);
  } finally {
    await client.close();
  }
  assert.equal(await timeout(http('GET', '/health', auth())), 200, `HTTP health after ${after}`);
  count('health checks (WebSocket + HTTP)');
}

before(async () => {
  // The test model, with generation capped by its own aligner.json: a mutated request that happens
  // to be valid decodes a few tokens, not 512.
  const model = join(mkdtempSync(join(tmpdir(), 'aligner-fuzz-model-')), 'fuzz-llama');
  cpSync(await testModel('llama'), model, { recursive: true });
  writeFileSync(join(model, 'aligner.json'), JSON.stringify({ generation: { maxNewTokens: 4 } }));
  const roots = mkdtempSync(join(tmpdir(), 'aligner-fuzz-roots-'));
  server = await startServe(['--model', model, '--max-payload', String(MAX_PAYLOAD), '--allow-root', roots]);
  assert.ok(server.ready, server.output());
});

after(async () => {
  agent.destroy();
  await server?.stop();
});

test(
  `fuzzing the WebSocket and HTTP endpoints (seed ${SEED}): no crash, no hang, health after each class`,
  { timeout: 110_000 },
  async () => {
    const started = Date.now();
    const classes: [string, () => Promise<void>][] = [
      ['garbage text', () => wsClass('ws garbage text', 3000, garbage)],
      ['bad JSON', () => wsClass('ws bad JSON', 4000, badJson)],
      ['mutated requests', () => wsClass('ws mutated requests', 6000, mutated)],
      ['batches', () => wsClass('ws batches', 1500, batch)],
      ['huge numbers', () => wsClass('ws huge numbers', 1500, hugeNumbers)],
      ['deep nesting', () => wsClass('ws deep nesting', 300, deepNesting)],
      ['binary frames', () => wsClass('ws binary frames', 1500, () => r.bytes(1 + r.int(500)), true)],
      ['invalid UTF-8', () => closingClass('ws invalid UTF-8 (closed 1007)', 150, invalidUtf8, 1007)],
      [
        'oversize frames',
        () =>
          closingClass('ws oversize frames (closed 1009)', 40, () => 'x'.repeat(MAX_PAYLOAD + 1 + r.int(1000)), 1009),
      ],
      ['HTTP', () => httpClass(2200)],
      ['raw TCP', () => rawTcp(150)],
    ];
    for (const [name, run] of classes) {
      await run();
      await healthy(name);
    }
    const frames = Object.entries(counts)
      .filter(([k]) => !k.includes('closed by') && !k.startsWith('health') && !/^http \d/.test(k))
      .reduce((n, [, v]) => n + v, 0);
    console.log(`fuzz seed ${SEED}: ${frames} frames and requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const [k, v] of Object.entries(counts)) console.log(`  ${k}: ${v}`);
    assert.ok(frames >= 20_000, `only ${frames} frames`);
  },
);
