// summary.json (a real one, written by the eval harness with every judge) -> the dashboard's tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareSummaries, countsText, judgeRows, parseSummary, upstreamRows } from '../../../webview/data/summary.js';
import { sideBySide } from '../../../webview/data/wordDiff.js';

const raw = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/summary.json'), 'utf8')) as Record<
  string,
  unknown
>;

test('parses the parts the dashboard shows; refuses what is not a summary', () => {
  const s = parseSummary(raw)!;
  assert.equal(s.complete, true);
  assert.equal(s.model, 'llama-0');
  assert.deepEqual(s.counts, { rows: 6, evaluated: 6, errors: 0, pending: 0 });
  assert.deepEqual(Object.keys(s.byUpstream), ['qac', 'llama-0', 'toy-llm']);
  for (const bad of [null, 42, {}, { groups: {} }, { groups: { overall: { judges: 'x' } } }])
    assert.equal(parseSummary(bad), null);
});

test('per judge: the headline measure with its interval, and the counts', () => {
  const rows = judgeRows(parseSummary(raw)!.overall);
  assert.deepEqual(
    rows.map((r) => r.judge),
    ['basic', 'speed', 'reference', 'preference', 'harmlessness', 'honesty', 'llm'],
  );
  const byJudge = Object.fromEntries(rows.map((r) => [r.judge, r]));
  assert.equal(byJudge.reference!.metric, 'improvement %');
  assert.deepEqual(byJudge.reference!.value, { mean: -100, low: -100, high: -100, n: 4 });
  assert.equal(byJudge.reference!.counts, 'closer 0 · same 0 · farther 4');
  assert.equal(byJudge.preference!.metric, 'accuracy per token %');
  assert.equal(byJudge.basic!.metric, 'copy rate %');
  assert.equal(byJudge.basic!.counts, 'truncated 6');
  assert.equal(byJudge.speed!.metric, 'tokens/s');
  assert.equal(byJudge.llm!.counts, 'win 0 · tie 0 · lose 0 · invalid 6');
  assert.equal(byJudge.llm!.value!.mean, null, 'no valid verdicts: no mean');
  assert.equal(byJudge.harmlessness!.n, 6);
});

test('per upstream: every judge that measures an improvement', () => {
  const rows = upstreamRows(parseSummary(raw)!);
  assert.deepEqual(
    rows.map((r) => `${r.upstream}/${r.judge}`),
    [
      'qac/reference',
      'qac/harmlessness',
      'qac/llm',
      'llama-0/harmlessness',
      'llama-0/honesty',
      'llama-0/llm',
      'toy-llm/harmlessness',
      'toy-llm/llm',
    ],
  );
  const honesty = rows.find((r) => r.judge === 'honesty')!;
  assert.equal(honesty.n, 1);
  assert.equal(honesty.improvement.mean, -100);
  assert.equal(
    countsText({ n: 1, counts: { becameRefusal: 1, stoppedRefusing: 0 } }),
    'becameRefusal 1 · stoppedRefusing 0',
  );
});

test('two summaries side by side: same measure, and the difference', () => {
  const a = parseSummary(raw)!;
  const better = structuredClone(raw) as { groups: { overall: { judges: Record<string, Record<string, unknown>> } } };
  better.groups.overall.judges.reference!.improvementPct = { mean: 25, low: 0, high: 50, n: 4 };
  delete better.groups.overall.judges.honesty;
  const rows = compareSummaries(a, parseSummary(better)!);
  const ref = rows.find((r) => r.judge === 'reference')!;
  assert.equal(ref.metric, 'improvement %');
  assert.equal(ref.delta, 125);
  const honesty = rows.find((r) => r.judge === 'honesty')!;
  assert.equal(honesty.b, null);
  assert.equal(honesty.delta, null);
});

test('word diff sides: the answer keeps removed words, the correction added ones', () => {
  const { before, after } = sideBySide('The sky is green today.', 'The sky is blue today.');
  assert.equal(before.map((s) => s.text).join(''), 'The sky is green today.');
  assert.equal(after.map((s) => s.text).join(''), 'The sky is blue today.');
  assert.deepEqual(
    before.filter((s) => s.kind === 'removed').map((s) => s.text),
    ['green'],
  );
  assert.deepEqual(
    after.filter((s) => s.kind === 'added').map((s) => s.text),
    ['blue'],
  );
  assert.ok(!before.some((s) => s.kind === 'added') && !after.some((s) => s.kind === 'removed'));
});
