import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerManager, type ServerState } from '../../../extension/serverManager.js';
import type { AlignerConnection } from '../../../extension/serverClient.js';

/** Manual clock: timers run only when the test says so. */
function fakeTimers() {
  let now = 0;
  const pending: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  return {
    setTimeout: ((fn: () => void, ms: number) => {
      const id = nextId++;
      pending.push({ at: now + ms, fn, id });
      return id as unknown as ReturnType<typeof setTimeout>;
    }) as unknown as typeof setTimeout,
    clearTimeout: ((id: number) => {
      const i = pending.findIndex((p) => p.id === id);
      if (i >= 0) pending.splice(i, 1);
    }) as unknown as typeof clearTimeout,
    now: () => now,
    /** Advances the clock and runs due timers; returns the delays that fired. */
    advance(ms: number) {
      now += ms;
      const due = pending.filter((p) => p.at <= now);
      for (const d of due) pending.splice(pending.indexOf(d), 1);
      due.forEach((d) => d.fn());
    },
    get pendingDelays() {
      return pending.map((p) => p.at - now);
    },
  };
}

function fakeConnection() {
  const closeListeners: (() => void)[] = [];
  const conn = {
    info: { protocolVersion: 1, server: { executionProvider: 'cpu' } },
    health: async () => ({ status: 'ready', model: 'tiny', message: null, queueLength: 0, running: 0 }),
    onClose: (l: () => void) => closeListeners.push(l),
    onLog: () => undefined,
    dispose: () => undefined,
    kill: () => closeListeners.forEach((l) => l()),
  };
  return conn as unknown as AlignerConnection & { kill(): void };
}

const silent = { info() {}, warn() {}, error() {} };
const tick = () => new Promise((r) => setImmediate(r));

test('lazy start, ready with model and provider, restart with backoff when the server dies', async () => {
  const timers = fakeTimers();
  let launches = 0;
  let died: ((m: string) => void) | undefined;
  const conns: ReturnType<typeof fakeConnection>[] = [];
  const states: ServerState[] = [];
  const m = new ServerManager({
    log: silent,
    timers,
    launch: async (onDied) => {
      launches++;
      died = onDied;
      return { wsUrl: 'ws://x/rpc', token: 't', stop: async () => undefined };
    },
    connect: async () => {
      const c = fakeConnection();
      conns.push(c);
      return c;
    },
  });
  m.onState((s) => states.push(s));
  assert.equal(m.state.kind, 'stopped');
  assert.equal(launches, 0, 'nothing starts before it is needed');
  await m.ensure();
  assert.deepEqual(m.state, { kind: 'ready', model: 'tiny', executionProvider: 'cpu', url: 'ws://x/rpc' });
  assert.equal(await m.ensure(), conns[0], 'one server, reused');

  died!('The Aligner server was killed by SIGKILL.');
  assert.equal(m.state.kind, 'error');
  assert.equal((m.state as ServerState & { retryInMs?: number }).retryInMs, 500);
  timers.advance(500);
  await tick();
  await tick();
  assert.equal(launches, 2);
  assert.equal(m.state.kind, 'ready');

  // Dies again quickly: the next delay doubles.
  conns[1]!.kill();
  assert.equal((m.state as ServerState & { retryInMs?: number }).retryInMs, 1000);
  await m.stop();
  assert.equal(m.state.kind, 'stopped');
  assert.deepEqual(timers.pendingDelays, [], 'stop cancels the pending restart');
});

test('a server that never starts: errors reported verbatim, then it gives up', async () => {
  const timers = fakeTimers();
  let launches = 0;
  const m = new ServerManager({
    log: silent,
    timers,
    maxAttempts: 3,
    launch: async () => {
      launches++;
      throw new Error('there is no model folder at /nope');
    },
    connect: async () => fakeConnection(),
  });
  await assert.rejects(m.ensure(), /no model folder at \/nope/);
  assert.equal(m.state.kind, 'error');
  timers.advance(500);
  await tick();
  timers.advance(1000);
  await tick();
  assert.equal(launches, 3);
  assert.equal(m.state.kind, 'error');
  assert.match(
    (m.state as ServerState & { message?: string }).message ?? '',
    /no model folder.*gave up after 3 attempts/,
  );
  assert.equal((m.state as ServerState & { retryInMs?: null }).retryInMs, null);
  // An explicit restart tries again from scratch.
  await assert.rejects(m.restart());
  assert.equal(launches, 4);
});

test('waits while the model loads; a model that fails to load is reported verbatim and not retried', async () => {
  const timers = fakeTimers();
  const healths = ['loading', 'loading', 'error'];
  let launches = 0;
  const m = new ServerManager({
    log: silent,
    timers,
    pollMs: 1,
    launch: async () => {
      launches++;
      return { wsUrl: 'ws://x/rpc', token: 't', stop: async () => undefined };
    },
    connect: async () => {
      const c = fakeConnection() as unknown as { health: () => Promise<unknown> };
      c.health = async () => ({
        status: healths.shift(),
        model: null,
        message: 'config.json: unknown model_type "bert"',
        queueLength: 0,
        running: 0,
      });
      return c as unknown as AlignerConnection;
    },
  });
  const states: string[] = [];
  m.onState((s) => states.push(s.kind + ('loading' in s && s.loading ? ':loading' : '')));
  await assert.rejects(m.ensure(), /unknown model_type "bert"/);
  assert.ok(states.includes('starting:loading'));
  assert.deepEqual(m.state, { kind: 'error', message: 'config.json: unknown model_type "bert"', retryInMs: null });
  timers.advance(60_000);
  assert.equal(launches, 1);
});

test('ready, but the server says its jobs are disabled: the ready state carries why (the status bar shows it)', async () => {
  const conn = fakeConnection();
  const why = 'jobs are disabled: the run registry /ro/runs cannot be written (EROFS: read-only file system, open)';
  (conn as unknown as { health: () => Promise<unknown> }).health = async () => ({
    status: 'ready',
    model: 'tiny',
    message: null,
    queueLength: 0,
    running: 0,
    jobs: { available: false, message: why },
  });
  const m = new ServerManager({
    log: silent,
    launch: async () => ({ wsUrl: 'ws://x/rpc', token: 't' }),
    connect: async () => conn,
  });
  await m.ensure();
  assert.equal(m.state.kind, 'ready');
  assert.equal(m.state.kind === 'ready' && m.state.jobsUnavailable, why);
});
