// The dashboard store: what each host message changes (what the app then redraws).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobInfo } from '../../../server/protocol/index.js';
import { DashboardStore } from '../../../webview/state.js';
import { jobInfo } from '../../helpers/jobInfo.js';

const job = (id: string, over: Partial<JobInfo> = {}): JobInfo =>
  jobInfo({ id, createdAt: `2026-11-27T09:0${id.slice(-1)}:00.000Z`, ...over });

test('runs newest first; live events update the list and a loaded detail; a final status is reported once', () => {
  const s = new DashboardStore();
  assert.deepEqual(s.apply({ type: 'runs', jobs: [job('t1'), job('t2')], connected: true }), { kind: 'runs' });
  assert.deepEqual(
    s.runList.map((j) => j.id),
    ['t2', 't1'],
  );

  s.apply({
    type: 'detail',
    detail: { job: job('t1'), events: [{ event: 'start', max_steps: 30 }], logTail: '', evalSummary: null },
  });
  assert.deepEqual(s.apply({ type: 'event', jobId: 't1', event: { event: 'step', step: 10, loss: 4 } }), {
    kind: 'event',
    jobId: 't1',
  });
  assert.equal(s.details.get('t1')!.events.length, 2);
  assert.equal(s.runs.get('t1')!.latest!.step, 10, 'the list shows the latest step');
  s.apply({ type: 'event', jobId: 't1', event: { event: 'checkpoint', step: 10 } });
  assert.equal(s.runs.get('t1')!.latest!.step, 10, 'non-progress events do not change latest');

  assert.deepEqual(s.apply({ type: 'status', job: job('t1', { status: 'succeeded' }) }), {
    kind: 'job',
    jobId: 't1',
    becameFinal: true,
  });
  assert.equal(s.details.get('t1')!.job.status, 'succeeded');
  assert.deepEqual(s.apply({ type: 'status', job: job('t1', { status: 'succeeded' }) }), {
    kind: 'job',
    jobId: 't1',
    becameFinal: false,
  });
});

test('eval detail parses its summary; rows, notices and a lost connection are kept', () => {
  const s = new DashboardStore();
  s.apply({
    type: 'detail',
    detail: { job: job('e1', { kind: 'eval' }), events: [], logTail: '', evalSummary: { nope: true } },
  });
  assert.equal(s.details.get('e1')!.summary, null, 'a broken summary is no summary');
  s.apply({ type: 'rows', jobId: 'e1', rows: [], error: 'gone' });
  assert.deepEqual(s.rows.get('e1'), { rows: [], error: 'gone' });
  s.apply({ type: 'notice', level: 'error', message: 'no' });
  assert.deepEqual(s.notice, { level: 'error', message: 'no' });
  s.apply({ type: 'runs', jobs: [], connected: false, error: 'server stopped' });
  assert.equal(s.connected, false);
  assert.equal(s.error, 'server stopped');
});
