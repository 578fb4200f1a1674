// Resumability: rows.jsonl bookkeeping, torn lines, settings checks, and an interrupted run that
// resumes to exactly the summary of an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlAppender, readJsonl } from '../../../server/eval/store/jsonlFile.js';
import { latestRecords, pendingRows, prepareOutDir, settingsDiff } from '../../../server/eval/store/resume.js';
import { runEvaluation, type EvalSummary } from '../../../server/eval/index.js';
import type { EvalRow, RowRecord } from '../../../server/eval/types.js';
import { FakeAligner, tempDir } from './fakes.js';

const tmp = () => tempDir('aligner-eval-resume-');

const rec = (id: string, error?: string): RowRecord => ({
  id,
  source: 's',
  line: 1,
  kind: 'qac',
  upstream: 'u',
  question: 'q',
  ...(error ? { error } : {}),
});
const row = (id: string): EvalRow => ({ id, source: 's', line: 1, kind: 'qac', upstream: 'u', question: 'q' });

test('the latest record per id counts; failed rows stay pending', () => {
  const byId = latestRecords([rec('a', 'boom'), rec('b'), rec('a'), rec('c', 'boom')]);
  assert.equal(byId.get('a')!.error, undefined);
  assert.deepEqual(
    pendingRows([row('a'), row('b'), row('c'), row('d')], byId).map((r) => r.id),
    ['c', 'd'],
  );
});

test('a torn last line is dropped before appending resumes', () => {
  const path = join(tmp(), 'rows.jsonl');
  writeFileSync(path, JSON.stringify(rec('a')) + '\n' + '{"id":"b","sour');
  assert.deepEqual(readJsonl(path).badLines, 1);
  const f = new JsonlAppender(path);
  f.append(rec('c'));
  f.close();
  const { records, badLines } = readJsonl<RowRecord>(path);
  assert.equal(badLines, 0);
  assert.deepEqual(
    records.map((r) => r.id),
    ['a', 'c'],
  );
  assert.ok(readFileSync(path, 'utf8').endsWith('\n'));
});

test('an output folder refuses other settings unless forced', () => {
  const dir = tmp();
  prepareOutDir(dir, { model: 'm1', judges: ['reference'] }, false);
  writeFileSync(join(dir, 'rows.jsonl'), JSON.stringify(rec('a')) + '\n');
  prepareOutDir(dir, { model: 'm1', judges: ['reference'] }, false); // same: fine
  assert.throws(() => prepareOutDir(dir, { model: 'm2', judges: ['reference'] }, false), /other settings \(model\)/);
  prepareOutDir(dir, { model: 'm2', judges: ['reference'] }, true);
  assert.equal(existsSync(join(dir, 'rows.jsonl')), false);
  assert.deepEqual(settingsDiff({ a: 1, b: [1] }, { a: 1, b: [2], c: null }), ['b']);
});

function writeData(dir: string): string[] {
  const qac = join(dir, 'qac.jsonl');
  const up = join(dir, 'gpt.jsonl');
  writeFileSync(
    qac,
    Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({
        question: `q${i}`,
        answer: i % 3 === 0 ? `keep ${i}` : `answer ${i}`,
        correction: `Corrected: answer ${i}`,
      }),
    ).join('\n') + '\n',
  );
  writeFileSync(
    up,
    Array.from({ length: 4 }, (_, i) =>
      JSON.stringify({ question: `u${i}`, answer: `I cannot do ${i}`, upstream: 'gpt' }),
    ).join('\n'),
  );
  return [qac, up];
}

/** The summary without what legitimately differs between runs (timings). */
function stable(s: EvalSummary): unknown {
  return JSON.parse(JSON.stringify(s), (k, v) => (k === 'speed' ? undefined : v));
}

test('an interrupted run resumes to the same summary as an uninterrupted run', async () => {
  const dir = tmp();
  const data = writeData(dir);
  const base = { data, judges: ['reference', 'preference', 'harmlessness'] as const, bootstrap: 200, concurrency: 2 };

  const full = await runEvaluation({ ...base, judges: [...base.judges], outDir: join(dir, 'full') }, new FakeAligner());
  assert.equal(full.complete, true);
  assert.equal(full.summary.counts.evaluated, 10);

  const controller = new AbortController();
  const out = join(dir, 'resumed');
  const first = new FakeAligner();
  const part = await runEvaluation({ ...base, judges: [...base.judges], outDir: out }, first, {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.done >= 3) controller.abort();
    },
  });
  assert.equal(part.complete, false);
  const doneFirst = readJsonl<RowRecord>(join(out, 'rows.jsonl')).records.length;
  assert.ok(doneFirst >= 3 && doneFirst < 10, `${doneFirst} rows after the interruption`);
  assert.equal(part.summary.counts.pending, 10 - doneFirst);

  const second = new FakeAligner();
  const progress: number[] = [];
  const resumed = await runEvaluation({ ...base, judges: [...base.judges], outDir: out }, second, {
    onProgress: (p) => progress.push(p.done),
  });
  assert.equal(resumed.complete, true);
  assert.equal(second.corrected.length, 10 - doneFirst, 'only the missing rows are corrected again');
  assert.equal(progress[0], doneFirst, 'progress starts from the rows already done');
  assert.deepEqual(stable(resumed.summary), stable(full.summary));
  const md = (d: string) =>
    readFileSync(join(d, 'summary.md'), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('| speed |'))
      .join('\n');
  assert.equal(md(out), md(join(dir, 'full')));

  // Rerunning a finished run corrects nothing and rewrites the same summary.
  const again = new FakeAligner();
  const rerun = await runEvaluation({ ...base, judges: [...base.judges], outDir: out }, again);
  assert.equal(again.corrected.length, 0);
  assert.deepEqual(stable(rerun.summary), stable(full.summary));

  // --force starts over.
  const forced = new FakeAligner();
  await runEvaluation({ ...base, judges: [...base.judges], outDir: out, force: true }, forced);
  assert.equal(forced.corrected.length, 10);
});

test('failed rows are recorded, counted, and retried on the next run', async () => {
  const dir = tmp();
  const data = writeData(dir);
  const out = join(dir, 'out');
  const failing = new FakeAligner();
  failing.failOn.add('q1');
  const logs: string[] = [];
  const r1 = await runEvaluation({ data, outDir: out, judges: ['reference'], bootstrap: 0 }, failing, {
    log: (m) => logs.push(m),
  });
  assert.equal(r1.complete, false);
  assert.equal(r1.summary.counts.errors, 1);
  assert.equal(r1.summary.groups.bySource['qac.jsonl']!.errors, 1);
  assert.ok(logs.some((l) => /qac\.jsonl:2 failed: cannot correct q1/.test(l)));
  const ok = new FakeAligner();
  const r2 = await runEvaluation({ data, outDir: out, judges: ['reference'], bootstrap: 0 }, ok);
  assert.deepEqual(ok.corrected, ['q1']);
  assert.equal(r2.complete, true);
  assert.equal(r2.summary.counts.errors, 0);
});

test('rows that cannot fit the model fail for good: counted, not retried, the run still completes', async () => {
  const dir = tmp();
  const data = writeData(dir);
  const out = join(dir, 'out');
  const svc = new FakeAligner();
  svc.overflowOn.add('q2');
  const r1 = await runEvaluation({ data, outDir: out, judges: ['reference'], bootstrap: 0 }, svc);
  assert.equal(r1.complete, true);
  assert.deepEqual(r1.summary.counts, { rows: 10, evaluated: 9, errors: 1, pending: 0 });
  const again = new FakeAligner();
  await runEvaluation({ data, outDir: out, judges: ['reference'], bootstrap: 0 }, again);
  assert.equal(again.corrected.length, 0);
});
