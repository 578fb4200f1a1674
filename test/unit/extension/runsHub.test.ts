// Job notifications: subscribed once per connection, fanned out to every listener, and subscribed
// again (with a "reconnected" signal) when a restarted server is ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobEvent, JobInfo } from '../../../server/protocol/index.js';
import type { AlignerConnection } from '../../../extension/serverClient.js';
import { JobHub } from '../../../extension/runs/jobHub.js';

function fakeConnection() {
  const status = new Set<(j: JobInfo) => void>();
  const events = new Set<(e: JobEvent) => void>();
  const close: (() => void)[] = [];
  const conn = {
    subscribes: 0,
    subscribeJobs: async () => {
      conn.subscribes++;
    },
    onJobStatus: (l: (j: JobInfo) => void) => (status.add(l), () => status.delete(l)),
    onJobEvent: (l: (e: JobEvent) => void) => (events.add(l), () => events.delete(l)),
    onClose: (l: () => void) => close.push(l),
    emitEvent: (e: JobEvent) => events.forEach((l) => l(e)),
    emitStatus: (j: JobInfo) => status.forEach((l) => l(j)),
    close: () => close.forEach((l) => l()),
  };
  return conn as typeof conn & AlignerConnection;
}

const silent = { info() {}, warn() {}, error() {} };

test('one subscription per connection, whoever asks and however often', async () => {
  const conn = fakeConnection();
  const hub = new JobHub({ ensure: async () => conn, log: silent });
  const got: string[] = [];
  hub.onEvent((e) => got.push(`a:${String(e.event.step)}`));
  const off = hub.onEvent((e) => got.push(`b:${String(e.event.step)}`));
  await Promise.all([hub.connection(), hub.connection(), hub.connection()]);
  await hub.connection();
  assert.equal(conn.subscribes, 1);
  conn.emitEvent({ jobId: 'j', event: { event: 'step', step: 1 } });
  off();
  conn.emitEvent({ jobId: 'j', event: { event: 'step', step: 2 } });
  assert.deepEqual(got, ['a:1', 'b:1', 'a:2']);
});

test('a restarted server is subscribed as soon as it is ready, and listeners hear about it', async () => {
  let current = fakeConnection();
  const hub = new JobHub({ ensure: async () => current, log: silent });
  let disconnected = 0;
  const reconnected: AlignerConnection[] = [];
  const statuses: string[] = [];
  hub.onDisconnected(() => disconnected++);
  hub.onReconnected((c) => reconnected.push(c));
  hub.onStatus((j) => statuses.push(j.status));

  hub.serverReady(); // before anything used jobs: nothing to do
  assert.equal(current.subscribes, 0);
  await hub.connection();
  assert.equal(reconnected.length, 0, 'the first subscription is not a reconnect');

  const first = current;
  first.close();
  assert.equal(disconnected, 1);
  current = fakeConnection();
  hub.serverReady();
  await new Promise((r) => setImmediate(r));
  assert.equal(current.subscribes, 1);
  assert.deepEqual(reconnected, [current]);
  current.emitStatus({ status: 'interrupted' } as JobInfo);
  assert.deepEqual(statuses, ['interrupted']);
});

test('a failed subscribe is retried by the next call', async () => {
  const conn = fakeConnection();
  let fail = true;
  conn.subscribeJobs = async () => {
    conn.subscribes++;
    if (fail) throw new Error('server busy');
  };
  const hub = new JobHub({ ensure: async () => conn, log: silent });
  await assert.rejects(hub.connection(), /server busy/);
  fail = false;
  await hub.connection();
  assert.equal(conn.subscribes, 2);
});
