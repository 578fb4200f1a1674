// Training events -> chart series and progress text, as the trainer really prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobInfo } from '../../../server/protocol/index.js';
import { trainSeries, resumedStep } from '../../../webview/data/series.js';
import { jobProgress, withEvent } from '../../../webview/data/progress.js';
import { fmtEta, fmtLoss, fmtLr, fmtNumber, fmtStat } from '../../../webview/data/format.js';
import { jobInfo } from '../../helpers/jobInfo.js';

const step = (s: number, loss: number, lr = 0.001) => ({
  event: 'step',
  step: s,
  epoch: s / 10,
  loss,
  lr,
  tokens_per_s: 400,
  eta_s: 30 - s,
});

test('loss, learning rate and eval loss series, sorted by step', () => {
  const s = trainSeries([
    { event: 'start', run_dir: '/r', max_steps: 30, resumed_from: null },
    step(1, 5.9, 0),
    step(10, 4.7),
    { event: 'eval', step: 10, eval_loss: 3.95 },
    { event: 'checkpoint', step: 10, path: '/r/checkpoints/checkpoint-10' },
    step(20, 3.0),
    { event: 'eval', step: 20, eval_loss: 2.9 },
    { event: 'done', step: 30, train_loss: 3.7 },
  ]);
  assert.deepEqual(s.loss, [
    { x: 1, y: 5.9 },
    { x: 10, y: 4.7 },
    { x: 20, y: 3.0 },
  ]);
  assert.deepEqual(s.lr, [
    { x: 1, y: 0 },
    { x: 10, y: 0.001 },
    { x: 20, y: 0.001 },
  ]);
  assert.deepEqual(s.evalLoss, [
    { x: 10, y: 3.95 },
    { x: 20, y: 2.9 },
  ]);
});

test('a resumed run drops what the interrupted attempt logged after its checkpoint', () => {
  const events = [
    { event: 'start', resumed_from: null },
    step(1, 6),
    step(4, 5),
    step(6, 4.8), // logged, then cancelled before checkpoint 8
    { event: 'eval', step: 6, eval_loss: 4.5 },
    { event: 'start', resumed_from: '/runs/x/run/checkpoints/checkpoint-4' },
    step(8, 4.0),
    { event: 'step', step: 9, loss: null, lr: 0.001 }, // a diverged loss is reported as null
  ];
  assert.equal(resumedStep(events[5]!), 4);
  const s = trainSeries(events);
  assert.deepEqual(
    s.loss.map((p) => p.x),
    [1, 4, 8],
  );
  assert.deepEqual(s.evalLoss, []);
  assert.deepEqual(
    s.lr.map((p) => p.x),
    [1, 4, 8, 9],
  );
});

const job = (over: Partial<JobInfo>): JobInfo =>
  jobInfo({ id: 'train-1', name: 'tiny', config: { data: ['/d.jsonl'], maxSteps: 30 }, ...over });

test('progress: step of total, loss and ETA; finished runs are complete', () => {
  const running = withEvent(job({}), step(20, 3.04321));
  const p = jobProgress(running, [{ event: 'start', max_steps: 40 }, step(20, 3.04321)]);
  assert.equal(p.fraction, 0.5);
  assert.equal(p.text, 'step 20/40 · loss 3.043 · ETA 10 s');
  // Steps are logged every 10 here, evals every 6: the furthest event says where training is.
  const evs = [{ event: 'start', max_steps: 30 }, step(10, 5), { event: 'eval', step: 12, eval_loss: 3.6 }];
  assert.equal(jobProgress(withEvent(job({}), step(10, 5)), evs).text, 'step 12/30 · loss 5 · ETA 20 s');
  // Without events (the run list), the configured max steps is the total.
  assert.equal(jobProgress(running).text, 'step 20/30 · loss 3.043 · ETA 10 s');
  const done = job({ status: 'succeeded', latest: step(20, 3) });
  assert.equal(jobProgress(done).fraction, 1);
  assert.equal(
    jobProgress(done).text,
    'step 30/30 · loss 3',
    'steps are logged every few: a finished run reached its last',
  );
  assert.equal(jobProgress(job({ status: 'queued' })).text, 'queued');
  const ev = job({
    kind: 'eval',
    status: 'running',
    latest: { event: 'eval-progress', done: 3, total: 12, eta_s: 90 },
  });
  assert.equal(jobProgress(ev).text, '3/12 rows · ETA 1 min 30 s');
  assert.equal(jobProgress(ev).fraction, 0.25);
  assert.equal(jobProgress(job({ kind: 'export', status: 'running' })).fraction, null);
});

test('formatting', () => {
  assert.equal(fmtEta(45), '45 s');
  assert.equal(fmtEta(200), '3 min 20 s');
  assert.equal(fmtEta(7500), '2 h 5 min');
  assert.equal(fmtEta(null), '—');
  assert.equal(fmtNumber(-3.14159, 2), '\u22123.14');
  assert.equal(fmtNumber(-0.001, 1), '0.0', 'no negative zero');
  assert.equal(fmtStat({ mean: 12.5, low: -3, high: 20, n: 8 }), '12.5 [\u22123.0, 20.0]');
  assert.equal(fmtStat({ mean: 1, low: null, high: null, n: 1 }), '1.0');
  assert.equal(fmtStat({ mean: null, low: null, high: null, n: 0 }), '—');
  assert.equal(fmtLoss(4.619457), '4.619');
  assert.equal(fmtLr(0.00044773576836617336), '4.48e-4');
});
