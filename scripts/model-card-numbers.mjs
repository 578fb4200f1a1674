#!/usr/bin/env node
// Gathers what scripts/evaluate-default-model.sh measured (eval summaries, rows, speed) and the training
// curve of the run into one JSON file, and prints the tables MODEL_CARD.md carries.
// With the replaced model's evaluation of the same files in EVAL_DIR/previous/{hh,alpaca}, it also pairs the
// two models row by row. Needs the built CLI (npm run build) for the harness's bootstrap.
//   usage: node scripts/model-card-numbers.mjs EVAL_DIR RUN_DIR OUT_JSON
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOTSTRAP_RESAMPLES, bootstrapMean } from '../dist/server/eval/index.js';

const [evalDir, runDir, outFile] = process.argv.slice(2);
if (!evalDir || !runDir || !outFile) throw new Error('usage: model-card-numbers.mjs EVAL_DIR RUN_DIR OUT_JSON');
const readJson = (f) => JSON.parse(readFileSync(f, 'utf8'));
const readRows = (f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const overall = (dir) => readJson(join(evalDir, dir, 'summary.json')).groups.overall;
const ci = (s, digits = 1) =>
  s && s.mean !== null && s.mean !== undefined
    ? `${s.mean.toFixed(digits)} [${s.low?.toFixed(digits)}, ${s.high?.toFixed(digits)}]`
    : 'n/a';

/** The validation split's sources (train-default-model.sh's hh_val / alpaca_val) and their names in tables. */
const SOURCE_NAMES = { hh: 'HH-RLHF harmless', alpaca: 'AlpacaEval (Aligner-2B refs)' };
const SOURCES = Object.keys(SOURCE_NAMES);
/** The sources a variant was evaluated on (a run tried on one source only has that one). */
const evaluatedSources = (v) => SOURCES.filter((src) => existsSync(join(evalDir, v, src, 'summary.json')));
const variants = ['shipped', 'fp32'].filter((v) => evaluatedSources(v).length > 0);

// Reference deltas, copy rate and refusals per source and variant.
const quality = {};
for (const v of variants) {
  quality[v] = {};
  for (const src of evaluatedSources(v)) {
    const g = overall(join(v, src));
    quality[v][src] = {
      rows: g.evaluated,
      chrfDelta: g.judges.reference.chrfDelta,
      chrfCorrection: g.judges.reference.chrfCorrection,
      chrfAnswer: g.judges.reference.chrfAnswer,
      improvementPct: g.judges.reference.improvementPct,
      rougeLDelta: g.judges.reference.rougeLDelta,
      copyFaithfulnessChrf: g.judges.reference.copyFaithfulnessChrf,
      copyRatePct: g.judges.basic.copyRatePct,
      truncated: g.judges.basic.truncated,
      refusalBeforePct: g.judges.harmlessness.refusalBeforePct,
      refusalAfterPct: g.judges.harmlessness.refusalAfterPct,
    };
  }
}

// Greedy agreement of each variant with fp32: identical corrections, and the share of fp32's tokens
// before the first difference (a prefix measure: greedy decoding diverges for good after one change).
const agreement = {};
if (variants.includes('fp32')) {
  for (const v of variants.filter((x) => x !== 'fp32')) {
    let same = 0;
    let n = 0;
    let prefixChars = 0;
    let totalChars = 0;
    for (const src of evaluatedSources(v).filter((x) => evaluatedSources('fp32').includes(x))) {
      const ref = new Map(readRows(join(evalDir, 'fp32', src, 'rows.jsonl')).map((r) => [r.id, r.correction]));
      for (const r of readRows(join(evalDir, v, src, 'rows.jsonl'))) {
        const a = ref.get(r.id);
        if (a === undefined) continue;
        n++;
        if (a === r.correction) same++;
        let k = 0;
        while (k < a.length && a[k] === r.correction[k]) k++;
        prefixChars += k;
        totalChars += a.length;
      }
    }
    agreement[v] = { rows: n, identicalPct: (100 * same) / n, commonPrefixPct: (100 * prefixChars) / totalChars };
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Rows of two evaluations of one source file, paired by id (those both judged against the reference). */
function pairRows(aDir, bDir) {
  const a = join(evalDir, aDir, 'rows.jsonl');
  const b = join(evalDir, bDir, 'rows.jsonl');
  if (!existsSync(a) || !existsSync(b)) return null;
  const byId = new Map(readRows(b).map((r) => [r.id, r]));
  const pairs = readRows(a)
    .filter((r) => byId.has(r.id) && r.judges?.reference && byId.get(r.id).judges?.reference)
    .map((r) => [r, byId.get(r.id)]);
  /** Side k (0: a, 1: b) of the pairs: mean chrF delta, % ended by EOS, % answers kept as they were. */
  const side = (k) => ({
    chrfDelta: mean(pairs.map((p) => p[k].judges.reference.chrfDelta)),
    endedByEosPct: (100 * pairs.filter((p) => p[k].finishReason !== 'length').length) / pairs.length,
    unchangedPct: (100 * pairs.filter((p) => p[k].judges.reference.copyFaithfulnessChrf === 100).length) / pairs.length,
  });
  const changedRows = pairs.filter(([x, y]) => x.correction !== y.correction).length;
  // a's chrF delta minus b's, row by row, with the harness's own interval (rows in a's file order)
  const gains = pairs.map(([x, y]) => x.judges.reference.chrfDelta - y.judges.reference.chrfDelta);
  const chrfDeltaGain = bootstrapMean(gains, { resamples: BOOTSTRAP_RESAMPLES, seed: 0 });
  return { rows: pairs.length, changedRows, chrfDeltaGain, a: side(0), b: side(1) };
}

// int4 against int8 on the same first rows of each file (int4 ran on a subset): the format choice.
const paired = {};
for (const src of SOURCES) {
  const p = pairRows(join('int4-subset', src), join('int8', src));
  if (p) paired[src] = { rows: p.rows, int4: p.a, int8: p.b };
}

// The loop guard: the shipped model as it ships (its aligner.json turns the guard on) and the same
// weights with it off, on the same rows of each source.
const loopGuard = {};
for (const src of SOURCES) {
  const p = pairRows(join('shipped', src), join('loop-guard-off', src));
  if (p) loopGuard[src] = { rows: p.rows, changedRows: p.changedRows, on: p.a, off: p.b };
}

// The shipped model against the one it replaced, on the same rows.
const againstPrevious = {};
for (const src of SOURCES) {
  const p = pairRows(join('shipped', src), join('previous', src));
  if (p)
    againstPrevious[src] = {
      rows: p.rows,
      changedRows: p.changedRows,
      chrfDeltaGain: p.chrfDeltaGain,
      shipped: p.a,
      previous: p.b,
    };
}

const unchanged = existsSync(join(evalDir, 'shipped/unchanged/summary.json')) ? overall('shipped/unchanged') : null;
const promptsSummary = existsSync(join(evalDir, 'shipped/prompts/summary.json'))
  ? readJson(join(evalDir, 'shipped/prompts/summary.json'))
  : null;
const truthful = existsSync(join(evalDir, 'shipped/truthfulqa/summary.json')) ? overall('shipped/truthfulqa') : null;
const refusals = {};
if (promptsSummary) {
  for (const [name, g] of Object.entries(promptsSummary.groups.byUpstream)) {
    refusals[name] = { rows: g.evaluated, refusalAfterPct: g.judges.harmlessness.refusalAfterPct };
  }
}
if (truthful) {
  refusals.truthfulqa = {
    rows: truthful.evaluated,
    refusalAfterPct: truthful.judges.harmlessness.refusalAfterPct,
    honesty: truthful.judges.honesty,
  };
}
const speed = existsSync(join(evalDir, 'speed.json')) ? readJson(join(evalDir, 'speed.json')) : null;

// Training curve: the latest checkpoint's trainer_state.json (Hugging Face Trainer's own log).
let curve = null;
const ckDir = join(runDir, 'checkpoints');
if (existsSync(ckDir)) {
  const steps = readdirSync(ckDir)
    .map((d) => /^checkpoint-(\d+)$/.exec(d))
    .filter(Boolean)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  if (steps.length) {
    const log = readJson(join(ckDir, `checkpoint-${steps[0]}`, 'trainer_state.json')).log_history;
    curve = {
      train: log.filter((e) => e.loss !== undefined).map((e) => ({ step: e.step, loss: e.loss, lr: e.learning_rate })),
      eval: log.filter((e) => e.eval_loss !== undefined).map((e) => ({ step: e.step, evalLoss: e.eval_loss })),
    };
  }
}

const result = {
  quality,
  agreement,
  int4VsInt8: paired,
  loopGuard,
  againstPrevious,
  unchanged: unchanged && {
    rows: unchanged.evaluated,
    copyFaithfulnessChrf: unchanged.judges.reference.copyFaithfulnessChrf,
    copyRatePct: unchanged.judges.basic.copyRatePct,
  },
  refusals,
  speed,
  curve,
};
writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');

// The card's tables.
/** "a / b" of one measure of two sides of a pairing. */
const vs = (a, b, key, digits) => `${a[key].toFixed(digits)} / ${b[key].toFixed(digits)}`;
const lines = [];
lines.push(
  '| weights | source | rows | chrF delta [95% CI] | closer − farther % | copy rate % | chrF to answer | ended by EOS % | refusals before → after % |',
);
lines.push('|---|---|---|---|---|---|---|---|---|');
for (const v of variants) {
  for (const src of evaluatedSources(v)) {
    const q = quality[v][src];
    const eos = (100 * (q.rows - q.truncated)) / q.rows;
    lines.push(
      `| ${v} | ${SOURCE_NAMES[src]} | ${q.rows} | ${ci(q.chrfDelta)} | ${ci(q.improvementPct)} | ${ci(q.copyRatePct)} | ${ci(q.copyFaithfulnessChrf)} | ${eos.toFixed(1)} | ${q.refusalBeforePct.mean?.toFixed(1)} → ${q.refusalAfterPct.mean?.toFixed(1)} |`,
    );
  }
}
if (Object.keys(paired).length) {
  lines.push(
    '',
    '| same rows, greedy | rows | int8 chrF delta | int4 chrF delta | int8 / int4 ended by EOS % | int8 / int4 answer kept % |',
  );
  lines.push('|---|---|---|---|---|---|');
  for (const [src, p] of Object.entries(paired)) {
    lines.push(
      `| ${SOURCE_NAMES[src]}, first ${p.rows} | ${p.rows} | ${p.int8.chrfDelta.toFixed(2)} | ${p.int4.chrfDelta.toFixed(2)} | ${vs(p.int8, p.int4, 'endedByEosPct', 1)} | ${vs(p.int8, p.int4, 'unchangedPct', 1)} |`,
    );
  }
}
if (Object.keys(loopGuard).length) {
  lines.push(
    '',
    '| shipped weights, greedy, same rows | rows | rows the guard changed | chrF delta, guard on / off | ended by EOS %, on / off | answer kept %, on / off |',
    '|---|---|---|---|---|---|',
  );
  for (const [src, g] of Object.entries(loopGuard)) {
    lines.push(
      `| ${SOURCE_NAMES[src]} | ${g.rows} | ${g.changedRows} | ${vs(g.on, g.off, 'chrfDelta', 2)} | ${vs(g.on, g.off, 'endedByEosPct', 1)} | ${vs(g.on, g.off, 'unchangedPct', 1)} |`,
    );
  }
}
if (Object.keys(againstPrevious).length) {
  lines.push(
    '',
    '| shipped vs the model it replaced, greedy, same rows | rows | chrF delta, shipped / previous | paired gain [95% CI] | ended by EOS %, shipped / previous | answer kept %, shipped / previous |',
    '|---|---|---|---|---|---|',
  );
  for (const [src, g] of Object.entries(againstPrevious)) {
    lines.push(
      `| ${SOURCE_NAMES[src]} | ${g.rows} | ${vs(g.shipped, g.previous, 'chrfDelta', 2)} | ${ci(g.chrfDeltaGain, 2)} | ${vs(g.shipped, g.previous, 'endedByEosPct', 1)} | ${vs(g.shipped, g.previous, 'unchangedPct', 1)} |`,
    );
  }
}
if (result.unchanged) {
  lines.push(
    '',
    `AlpacaEval rows whose reference left the answer unchanged (${result.unchanged.rows}): chrF(correction, answer) ${ci(result.unchanged.copyFaithfulnessChrf)}, exact copies ${ci(result.unchanged.copyRatePct)} %.`,
  );
}
for (const [v, a] of Object.entries(agreement)) {
  lines.push(
    '',
    `${v} vs fp32 greedy: ${a.identicalPct.toFixed(1)} % of ${a.rows} corrections identical; ${a.commonPrefixPct.toFixed(1)} % of fp32's characters before the first difference.`,
  );
}
if (Object.keys(refusals).length) {
  lines.push('', '| prompts (empty upstream answer) | rows | refusal % [95% CI] |', '|---|---|---|');
  for (const [name, r] of Object.entries(refusals)) lines.push(`| ${name} | ${r.rows} | ${ci(r.refusalAfterPct)} |`);
}
if (speed) {
  lines.push(
    '',
    `Speed: a ${speed.answerTokens}-token answer (${speed.promptTokens}-token prompt) → ${speed.completionTokens} tokens in ${(speed.wallMsMedian / 1000).toFixed(2)} s wall (median of ${speed.runs}, process start and model load included); engine prefill ${speed.timingsOfMedianRun.prefillMs.toFixed(0)} ms, decode ${speed.timingsOfMedianRun.decodeTokensPerSecond.toFixed(0)} tokens/s; ${speed.cpu}, ${speed.cores} cores, load ${speed.loadAverage1m.toFixed(1)}.`,
  );
}
if (curve) {
  lines.push('', '| step | train loss | eval loss |', '|---|---|---|');
  const evalAt = new Map(curve.eval.map((e) => [e.step, e.evalLoss]));
  for (const e of curve.train.filter((x, i, all) => x.step % 40 === 0 || x.step === 1 || i === all.length - 1)) {
    lines.push(`| ${e.step} | ${e.loss.toFixed(3)} | ${evalAt.has(e.step) ? evalAt.get(e.step).toFixed(3) : ''} |`);
  }
}
console.log(lines.join('\n'));
console.log(`\nwrote ${outFile}`);
