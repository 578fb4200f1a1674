#!/usr/bin/env node
// How long the default model takes to correct a ~300-token answer on this machine, the way a user runs
// it: `aligner correct` in a fresh process (model load included), greedy, 5 runs. Also the engine's own
// prefill/decode timings from the same runs. Writes the figures to OUT as JSON and prints them.
//   usage: node scripts/default-model-speed.mjs MODEL_DIR QAC_JSONL OUT_JSON
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextTokenizer } from '../dist/server/engine/tokenizer.js';

const [model, data, out] = process.argv.slice(2);
if (!model || !data || !out) throw new Error('usage: default-model-speed.mjs MODEL_DIR QAC_JSONL OUT_JSON');
const json = (f) => JSON.parse(readFileSync(join(model, f), 'utf8'));
const tokenizer = new TextTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));

// The row whose answer is nearest 300 tokens (ties: first in the file).
const rows = readFileSync(data, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
let best = null;
for (const r of rows) {
  const n = tokenizer.encodePlain(r.answer).length;
  if (!best || Math.abs(n - 300) < Math.abs(best.n - 300)) best = { r, n };
}
const tmp = mkdtempSync(join(tmpdir(), 'aligner-speed-'));
writeFileSync(join(tmp, 'q.txt'), best.r.question);
writeFileSync(join(tmp, 'a.txt'), best.r.answer);

const RUNS = 5;
const runs = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const p = spawnSync(
    process.execPath,
    [
      'bin/aligner.js',
      'correct',
      '--model',
      model,
      '--json',
      '--max-new-tokens',
      '512',
      '--question-file',
      join(tmp, 'q.txt'),
      '--answer-file',
      join(tmp, 'a.txt'),
    ],
    { encoding: 'utf8' },
  );
  const wallMs = performance.now() - t0;
  if (p.status !== 0) throw new Error(`aligner correct failed: ${p.stderr}`);
  const r = JSON.parse(p.stdout);
  runs.push({ wallMs, usage: r.usage, timings: r.timings });
}
rmSync(tmp, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  model,
  answerTokens: best.n,
  promptTokens: runs[0].usage.promptTokens,
  completionTokens: runs[0].usage.completionTokens,
  runs: RUNS,
  wallMsMedian: median(runs.map((r) => r.wallMs)),
  wallMs: runs.map((r) => Math.round(r.wallMs)),
  timingsOfMedianRun: runs.slice().sort((a, b) => a.wallMs - b.wallMs)[Math.floor(RUNS / 2)].timings,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  loadAverage1m: (await import('node:os')).loadavg()[0],
};
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(
  `default model: a ${result.answerTokens}-token answer (${result.promptTokens}-token prompt) corrected into ` +
    `${result.completionTokens} tokens in ${(result.wallMsMedian / 1000).toFixed(2)} s (median of ${RUNS}, process start included)`,
);
