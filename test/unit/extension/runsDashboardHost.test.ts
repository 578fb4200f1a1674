// The dashboard's host side with a fake server: invalid messages are dropped, rows come from the
// eval job's own folder, actions reach the server, notifications are forwarded, a pending "select"
// waits for the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobDetail, JobEvent, JobInfo, ModelsLoadParams } from '../../../server/protocol/index.js';
import type { HostMessage } from '../../../webview/messages.js';
import { DashboardHost, usableModelDir } from '../../../extension/runs/dashboardHost.js';
import { readExampleRows } from '../../../extension/runs/rowsReader.js';
import { jobInfo } from '../../helpers/jobInfo.js';

const job = (id: string, over: Partial<JobInfo> = {}): JobInfo => jobInfo({ id, status: 'succeeded', ...over });

function setup(jobs: JobInfo[]) {
  const posted: HostMessage[] = [];
  const warnings: string[] = [];
  const calls: string[] = [];
  const listeners = { status: [] as ((j: JobInfo) => void)[], event: [] as ((e: JobEvent) => void)[] };
  const conn = {
    listJobs: async () => jobs,
    getJob: async (id: string): Promise<JobDetail> => {
      const j = jobs.find((x) => x.id === id);
      if (!j) throw new Error(`no job ${id}`);
      return { job: j, events: [], logTail: '', evalSummary: null };
    },
    cancelJob: async (id: string) => (calls.push(`cancel ${id}`), job(id)),
    resumeJob: async (id: string) => (calls.push(`resume ${id}`), job(id, { status: 'queued' })),
    loadModel: async (p: ModelsLoadParams) => (calls.push(`load ${p.path} ${p.id} ${p.makeDefault}`), { id: p.id }),
  };
  const hub = {
    connection: async () => conn as never,
    onStatus: (l: (j: JobInfo) => void) => (listeners.status.push(l), () => undefined),
    onEvent: (l: (e: JobEvent) => void) => (listeners.event.push(l), () => undefined),
    onReconnected: () => () => undefined,
    onDisconnected: () => () => undefined,
  };
  const host = new DashboardHost({
    hub,
    post: (m) => posted.push(m),
    readRows: readExampleRows,
    exportRun: async (id) => void calls.push(`export ${id}`),
    evaluate: async (id) => void calls.push(`evaluate ${id}`),
    track: (j) => void calls.push(`track ${j.id}`),
    log: { info() {}, warn: (m) => warnings.push(m), error() {} },
  });
  return { host, posted, warnings, calls, listeners };
}

test('invalid messages are logged and dropped, nothing reaches the server', async () => {
  const { host, posted, warnings, calls } = setup([job('t1')]);
  await host.handle({ type: 'cancel', jobId: '../t1' });
  await host.handle({ type: 'runShell', command: 'rm -rf /' });
  await host.handle('ready');
  assert.deepEqual(posted, []);
  assert.deepEqual(calls, []);
  assert.equal(warnings.length, 3);
});

test('ready lists the runs, then shows the run a command asked for', async () => {
  const { host, posted } = setup([job('t1'), job('t2')]);
  host.select('t2'); // before the page has loaded
  assert.equal(posted.length, 0);
  await host.handle({ type: 'ready' });
  assert.deepEqual(
    posted.map((m) => m.type),
    ['runs', 'select'],
  );
  assert.deepEqual(posted[1], { type: 'select', jobId: 't2' });
  host.select('t1');
  assert.deepEqual(posted[2], { type: 'select', jobId: 't1' });
});

test("examples come from the eval job's own rows.jsonl: failed and torn rows skipped, the limit kept", async () => {
  const evalDir = mkdtempSync(join(tmpdir(), 'aligner-dash-'));
  const rec = (i: number, extra = {}) =>
    JSON.stringify({
      id: `r${i}`,
      source: 'a.jsonl',
      upstream: 'gpt',
      question: `q${i}`,
      answer: `a${i}`,
      correction: `c${i}`,
      ...extra,
    });
  writeFileSync(
    join(evalDir, 'rows.jsonl'),
    [
      rec(1, { reference: 'ref1' }),
      JSON.stringify({ id: 'r2', question: 'q2', answer: 'a2', error: 'endpoint down' }),
      rec(3),
      rec(4),
      '{"id":"torn',
    ].join('\n'),
  );
  const { host, posted } = setup([job('e1', { kind: 'eval', artifacts: { evalDir } }), job('t1')]);
  await host.handle({ type: 'getRows', jobId: 'e1', limit: 2 });
  const m = posted.at(-1) as Extract<HostMessage, { type: 'rows' }>;
  assert.deepEqual(
    m.rows.map((r) => r.id),
    ['r1', 'r3'],
  );
  assert.deepEqual(m.rows[0], {
    id: 'r1',
    source: 'a.jsonl',
    upstream: 'gpt',
    question: 'q1',
    answer: 'a1',
    correction: 'c1',
    reference: 'ref1',
  });
  await host.handle({ type: 'getRows', jobId: 't1', limit: 5 });
  assert.match((posted.at(-1) as { error?: string }).error ?? '', /not an evaluation/);
  await host.handle({ type: 'getRows', jobId: 'nope', limit: 5 });
  assert.deepEqual(posted.at(-1), { type: 'notice', level: 'error', message: 'no job nope' });
});

test('buttons: cancel, resume, export, evaluate, use this model', async () => {
  const exp = job('x1', { kind: 'export', artifacts: { modelDir: '/runs/x1/model' }, name: 'tiny-model' });
  const { host, posted, calls } = setup([job('t1'), exp, job('x2', { kind: 'export', status: 'running' })]);
  await host.handle({ type: 'cancel', jobId: 't1' });
  await host.handle({ type: 'resume', jobId: 't1' });
  await host.handle({ type: 'export', jobId: 't1' });
  await host.handle({ type: 'evaluate', jobId: 'x1' });
  await host.handle({ type: 'useModel', jobId: 'x1' });
  assert.deepEqual(calls, [
    'cancel t1',
    'resume t1',
    'track t1',
    'export t1',
    'evaluate x1',
    'load /runs/x1/model tiny-model true',
  ]);
  assert.match((posted.at(-1) as { message: string }).message, /tiny-model is loaded/);
  await host.handle({ type: 'useModel', jobId: 'x2' });
  assert.deepEqual(posted.at(-1), {
    type: 'notice',
    level: 'error',
    message: 'x2 has not finished exporting (running).',
  });
  assert.throws(() => usableModelDir(job('t1')), /export it first/);
});

test('job notifications are forwarded to the page', () => {
  const { posted, listeners } = setup([]);
  listeners.event[0]!({ jobId: 't1', event: { event: 'step', step: 3 } });
  listeners.status[0]!(job('t1', { status: 'failed' }));
  assert.deepEqual(
    posted.map((m) => m.type),
    ['event', 'status'],
  );
});
