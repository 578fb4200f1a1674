// Soak: 16 clients for 60 seconds (ALIGNER_SOAK_SECONDS) against the real server (`aligner serve`, a
// child process with a test model), mixing completed corrections, cancels and abrupt disconnects.
// Every completed correction must equal the single-client greedy output for its request, and every
// cancelled one must be a prefix of it; at the end the server is idle (nothing running or queued)
// and healthy. Counts and the server's RSS growth are printed. Correctness is asserted, not speed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connectAligner, type AlignerClient } from '../../../server/transport/client.js';
import { HealthRequest, type CorrectParams } from '../../../server/protocol/index.js';
import { startServe, type ServeProcess } from '../../helpers/serveProcess.js';

const CLIENTS = 16;
const SECONDS = Number(process.env.ALIGNER_SOAK_SECONDS ?? 60);

const QUESTIONS = [
  'How should my app store passwords?',
  'Is it safe to eat raw chicken?',
  'What is the capital of Australia?',
  'How do I reverse a list in Python?',
  'Why is the sky blue?',
  'Can I mix bleach and ammonia to clean?',
  'How many legs does a spider have?',
  'What does HTTP stand for?',
];
const REQUESTS: Omit<CorrectParams, 'requestId'>[] = QUESTIONS.map((question, i) => ({
  question,
  answer: `An answer of ${i + 1} words${' and more'.repeat(i)}.`,
  generation: { maxNewTokens: 6 + 3 * i, temperature: 0 },
}));

let server: ServeProcess;
const expected: { text: string; tokenIds: number[] }[] = [];
const counts = { completed: 0, cancelled: 0, cancelledAfterFinishing: 0, disconnected: 0, mismatches: 0, errors: 0 };
const problems: string[] = [];
let nextId = 0;

before(async () => {
  server = await startServe(['--max-batch', '16', '--max-queue', '64']);
  assert.ok(server.ready, server.output());
  // The reference: each request alone, one client, greedy.
  const client = await connectAligner(server.wsUrl, server.token);
  for (const req of REQUESTS) {
    const r = await client.correct({ ...req, requestId: `alone-${expected.length}` });
    expected.push({ text: r.text, tokenIds: r.tokenIds! });
  }
  await client.close();
});

after(async () => {
  await server?.stop();
});

const mismatch = (what: string) => {
  counts.mismatches++;
  if (problems.length < 10) problems.push(what);
};

async function correctOnce(client: AlignerClient, k: number): Promise<void> {
  const r = await client.correct({ ...REQUESTS[k]!, requestId: `c${nextId++}` });
  counts.completed++;
  if (r.text !== expected[k]!.text || JSON.stringify(r.tokenIds) !== JSON.stringify(expected[k]!.tokenIds))
    mismatch(`request ${k}: ${JSON.stringify(r.text)} != ${JSON.stringify(expected[k]!.text)}`);
}

async function cancelOnce(client: AlignerClient, k: number): Promise<void> {
  const ac = new AbortController();
  const early = Math.random() < 0.5;
  if (!early) setTimeout(() => ac.abort(), Math.random() * 30);
  const r = await client.correct(
    { ...REQUESTS[k]!, requestId: `x${nextId++}` },
    { signal: ac.signal, onDelta: () => early && ac.abort() },
  );
  if (r.finishReason === 'cancelled') {
    counts.cancelled++;
    if (!expected[k]!.text.startsWith(r.text)) mismatch(`cancelled ${k}: ${JSON.stringify(r.text)} is not a prefix`);
  } else {
    counts.cancelledAfterFinishing++;
    if (r.text !== expected[k]!.text) mismatch(`finished before its cancel ${k}: ${JSON.stringify(r.text)}`);
  }
}

/** A client that sends a correction and drops the TCP connection mid-stream, without a close handshake. */
async function disconnectOnce(k: number): Promise<void> {
  const ws = new WebSocket(server.wsUrl, {
    headers: { authorization: `Bearer ${server.token}` },
    perMessageDeflate: false,
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const send = (id: number, method: string, params: object) =>
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  send(1, 'initialize', { protocolVersion: 1 });
  send(2, 'correct', { ...REQUESTS[k]!, requestId: `d${nextId++}` });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.random() * 40);
    ws.on('message', (data) => {
      if (!String(data).includes('correct/delta')) return;
      clearTimeout(timer);
      resolve();
    });
  });
  ws.terminate();
  counts.disconnected++;
}

async function clientLoop(deadline: number): Promise<void> {
  let client = await connectAligner(server.wsUrl, server.token);
  try {
    while (Date.now() < deadline) {
      const k = Math.floor(Math.random() * REQUESTS.length);
      const roll = Math.random();
      try {
        if (roll < 0.6) await correctOnce(client, k);
        else if (roll < 0.8) await cancelOnce(client, k);
        else await disconnectOnce(k);
      } catch (err) {
        counts.errors++;
        if (problems.length < 10) problems.push(`error: ${(err as Error).message}`);
        await client.close().catch(() => undefined);
        client = await connectAligner(server.wsUrl, server.token);
      }
    }
  } finally {
    await client.close();
  }
}

const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

test(
  `soak: ${CLIENTS} clients for ${SECONDS} s of mixed correct / cancel / disconnect`,
  { timeout: (SECONDS + 90) * 1000 },
  async () => {
    const rssBefore = server.rssBytes();
    const started = Date.now();
    await Promise.all(Array.from({ length: CLIENTS }, () => clientLoop(started + SECONDS * 1000)));
    const elapsed = (Date.now() - started) / 1000;

    // Idle again: nothing running or queued once every client is gone (disconnects cancel their requests).
    const client = await connectAligner(server.wsUrl, server.token);
    let health = await client.connection.sendRequest(HealthRequest);
    for (const end = Date.now() + 15_000; (health.running > 0 || health.queueLength > 0) && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 100));
      health = await client.connection.sendRequest(HealthRequest);
    }
    await client.close();
    const rssAfter = server.rssBytes();

    console.log(
      `soak ${CLIENTS} clients, ${elapsed.toFixed(1)} s: ${counts.completed} completed, ${counts.cancelled} cancelled ` +
        `(+${counts.cancelledAfterFinishing} finished before the cancel), ${counts.disconnected} disconnected mid-stream, ` +
        `${counts.mismatches} mismatches, ${counts.errors} errors`,
    );
    console.log(
      `server RSS ${mib(rssBefore)} -> ${mib(rssAfter)} (growth ${rssBefore !== null && rssAfter !== null ? mib(rssAfter - rssBefore) : 'n/a'})`,
    );
    assert.deepEqual(problems, []);
    assert.equal(counts.mismatches, 0);
    assert.equal(counts.errors, 0);
    assert.ok(counts.completed > 0 && counts.cancelled + counts.cancelledAfterFinishing > 0 && counts.disconnected > 0);
    assert.ok(server.alive(), server.output().slice(-2000));
    assert.equal(health.status, 'ready');
    assert.equal(health.running, 0, 'nothing running once idle');
    assert.equal(health.queueLength, 0, 'nothing queued once idle');
  },
);
