// Section 5: prompt-lookup speculation. (a) Greedy corrections of Q-A-C rows with speculation on
// (speculationMaxBatch 4) and off (0), side by side on one model: acceptance and speed ratio. On a
// random-weight model the output does not copy the answer, so drafts are rarely accepted and
// speculation cannot pay; hence (b): what verifying k drafts in one step costs against k + 1 single
// steps on the fast backend, the speedup when every draft is accepted.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelFolder } from '../../server/engine/modelFolder.js';
import { createSession, detectLayout } from '../../server/engine/session.js';
import { SAMPLE } from '../../server/cli/sample.js';
import type { Bench } from './context.js';
import { openHost, timedCorrect } from './correct.js';
import type { CorrectionRun } from './correct.js';
import { openBackend, prefillSeed, seededSlots } from './kvDecode.js';
import { ensureConverted, ensureModel } from './models.js';
import { QAC_IS_HELD_OUT, QAC_PATH, pickRows } from './qac.js';
import { fmt, others } from './report.js';
import { median } from './stats.js';

export interface SpecRow {
  group: 'near copy' | 'other' | 'project sample';
  similarity: number | null;
  on: CorrectionRun;
  off: CorrectionRun;
  sameTokens: boolean;
}

export interface VerifyRow {
  drafts: number;
  /** Median ms of one 1-token step, of drafts + 1 such steps, and of one (drafts + 1)-token step. */
  singleMs: number;
  singlesMs: number;
  wideMs: number;
}

export interface SpeculationResult {
  model: string;
  modelDir: string;
  rows: SpecRow[];
  skipped?: string;
  otherLoadCores: number | null;
  verify: { model: string; context: number; reps: number; rows: VerifyRow[]; otherLoadCores: number | null };
}

/** The fast-layout folder for `dir`: itself, or its fp32 conversion when it is an Optimum folder with weights. */
async function fastFolder(dir: string): Promise<string | string[]> {
  const spec = readModelFolder(dir);
  const session = await createSession(spec.onnxPath, { executionProvider: 'cpu', threads: 1 });
  const layout = detectLayout(session.inputNames);
  await session.release();
  if (layout === 'fast') return dir;
  if (existsSync(join(dir, 'model.safetensors'))) return (await ensureConverted(dir, 'fast', 'fp32')).dir;
  return [`${dir} is in the ${layout} layout (no speculation) and has no model.safetensors to convert from`];
}

async function measureRows(bench: Bench, dir: string): Promise<[SpecRow[], number | null]> {
  const s = bench.settings;
  const picked = pickRows(QAC_PATH, s.specRowsPerGroup);
  const cases: { group: SpecRow['group']; similarity: number | null; question: string; answer: string }[] = picked
    ? [
        ...picked.near.map((r) => ({ group: 'near copy' as const, ...r })),
        ...picked.other.map((r) => ({ group: 'other' as const, ...r })),
      ]
    : [{ group: 'project sample', similarity: null, ...SAMPLE }];
  if (!picked) bench.log(`no ${QAC_PATH.pathname}: the project's sample instead`);
  const on = await openHost(dir, { threads: s.threads, speculationMaxBatch: 4 });
  const off = await openHost(dir, { threads: s.threads, speculationMaxBatch: 0 });
  const rows: SpecRow[] = [];
  try {
    const [, load] = await bench.withLoad(async () => {
      for (const [i, c] of cases.entries()) {
        // Alternate which goes first, so drifting load favours neither.
        const runOn = () => timedCorrect(on.host, c, s.specNewTokens);
        const runOff = () => timedCorrect(off.host, c, s.specNewTokens);
        const [a, b] = i % 2 ? [await runOff(), await runOn()] : [await runOn(), await runOff()];
        const [rOn, rOff] = i % 2 ? [b, a] : [a, b];
        const sameTokens = JSON.stringify(rOn.tokenIds) === JSON.stringify(rOff.tokenIds);
        rows.push({ group: c.group, similarity: c.similarity, on: rOn, off: rOff, sameTokens });
      }
    });
    return [rows, load];
  } finally {
    await on.host.close();
    await off.host.close();
  }
}

async function measureVerify(bench: Bench): Promise<SpeculationResult['verify']> {
  const s = bench.settings;
  const src = await ensureModel(s.verifyModel, { maxPositions: 8192 });
  const { backend, spec } = await openBackend((await ensureConverted(src.dir, 'fast', 'fp32')).dir, s.threads);
  const context = s.verifyContext;
  const seed = await prefillSeed(backend, spec, context, context + 64);
  const [slot] = seededSlots(backend, seed, 1, context);
  backend.setBatch([slot!]);
  const rows: VerifyRow[] = [];
  const reps = s.quick ? 3 : 7;
  const [, otherLoadCores] = await bench.withLoad(async () => {
    for (const drafts of s.verifyDrafts) {
      const single: number[] = [];
      const singles: number[] = [];
      const wide: number[] = [];
      for (let rep = 0; rep <= reps; rep++) {
        let t0 = performance.now();
        for (let i = 0; i <= drafts; i++) {
          const s0 = performance.now();
          await backend.decode([[100 + i]]);
          if (rep > 0) single.push(performance.now() - s0);
        }
        if (rep > 0) singles.push(performance.now() - t0);
        backend.truncate(slot!, context);
        t0 = performance.now();
        await backend.decode([Array.from({ length: drafts + 1 }, (_, i) => 100 + i)]);
        if (rep > 0) wide.push(performance.now() - t0); // rep 0 is the warm-up
        backend.truncate(slot!, context);
      }
      rows.push({ drafts, singleMs: median(single), singlesMs: median(singles), wideMs: median(wide) });
    }
  });
  await backend.close();
  return { model: `llama-${s.verifyModel} fast fp32`, context, reps, rows, otherLoadCores };
}

export async function runSpeculationSection(bench: Bench, modelDir: string | undefined): Promise<SpeculationResult> {
  const s = bench.settings;
  const dir = modelDir
    ? resolve(modelDir)
    : (await ensureConverted((await ensureModel('17m', { maxPositions: 8192 })).dir, 'fast', 'fp32')).dir;
  const model = modelDir ? dir : 'llama-17m fast fp32 (random weights)';
  const fast = await fastFolder(dir);
  let rows: SpecRow[] = [];
  let otherLoadCores: number | null = null;
  let skipped: string | undefined;
  if (Array.isArray(fast)) skipped = fast[0];
  else [rows, otherLoadCores] = await measureRows(bench, fast);
  bench.log(`speculation rows done (${rows.length}); verify bound on llama-${s.verifyModel}…`);
  const verify = await measureVerify(bench);
  return { model, modelDir: dir, rows, skipped, otherLoadCores, verify };
}

export function renderSpeculation(bench: Bench, r: SpeculationResult): void {
  const s = bench.settings;
  if (r.skipped) bench.report.note('5a. Speculation on Q-A-C rows', `skipped: ${r.skipped}`);
  else {
    const groups = [...new Set(r.rows.map((x) => x.group))];
    const sum = (rows: SpecRow[], f: (x: SpecRow) => number) => rows.reduce((a, x) => a + f(x), 0);
    const line = (label: string, rows: SpecRow[]) => {
      const drafted = sum(rows, (x) => x.on.draftTokens);
      const accepted = sum(rows, (x) => x.on.acceptedDraftTokens);
      const tokens = sum(rows, (x) => x.on.tokenIds.length);
      const [onMs, offMs] = [sum(rows, (x) => x.on.decodeMs), sum(rows, (x) => x.off.decodeMs)];
      return [
        label,
        rows.length,
        rows[0]?.similarity === null ? '—' : fmt(Math.min(...rows.map((x) => x.similarity!)), 2),
        tokens,
        drafted,
        drafted ? `${fmt((accepted / drafted) * 100, 0)} %` : '—',
        fmt((tokens * 1000) / offMs, 1),
        fmt((tokens * 1000) / onMs, 1),
        `${fmt(offMs / onMs, 2)}x`,
        `${fmt(sum(rows, (x) => x.off.totalMs) / sum(rows, (x) => x.on.totalMs), 2)}x`,
        `${rows.filter((x) => x.sameTokens).length}/${rows.length}`,
      ];
    };
    bench.report.table(
      `5a. Speculation on vs off: ${r.model}`,
      [
        'rows',
        'n',
        'min similarity',
        'new tokens',
        'drafted',
        'accepted',
        'off tok/s',
        'on tok/s',
        'decode speedup',
        'total speedup',
        'same tokens',
      ],
      [
        ...groups.map((g) =>
          line(
            g,
            r.rows.filter((x) => x.group === g),
          ),
        ),
        line('all', r.rows),
      ],
      [
        `EngineHost with speculationMaxBatch 4 (on) and 0 (off), ${s.threads} threads, greedy, at most ` +
          `${s.specNewTokens} new tokens per row, one row at a time, on/off alternating first. tok/s = new tokens / ` +
          "the engine's decode ms; decode speedup = off decode ms / on decode ms; total includes the (equal) prefill.",
        `Rows: ${basename(fileURLToPath(QAC_PATH))}` +
          (QAC_IS_HELD_OUT ? ' (the validation split the default model was not trained on)' : '') +
          ' answers of 300-1200 characters, in file order; near copy = the ' +
          'reference correction shares >= 90 % of its characters with the answer (word diff), other = below.',
        ...(r.model.includes('random')
          ? [
              'A random-weight model does not copy the answer, so its drafts are almost never accepted and this ' +
                'measures only the cost of trying (the drafter pauses after misses). Rerun with a trained model: ' +
                'npm run bench -- --only 5 --model DIR.',
            ]
          : []),
        `others: ${others(r.otherLoadCores)} cores.`,
      ],
    );
  }
  const v = r.verify;
  bench.report.table(
    `5b. Verifying k drafts in one step vs k + 1 single steps: ${v.model}, batch 1, ctx ${v.context}`,
    [
      'k drafts',
      '1-token step ms',
      '(k + 1) x 1-token ms',
      'k + 1 steps, measured ms',
      'one (k + 1)-token step ms',
      'speedup if all accepted',
    ],
    v.rows.map((x) => [
      x.drafts,
      fmt(x.singleMs, 2),
      fmt((x.drafts + 1) * x.singleMs, 1),
      fmt(x.singlesMs, 1),
      fmt(x.wideMs, 2),
      `${fmt(((x.drafts + 1) * x.singleMs) / x.wideMs, 2)}x`,
    ]),
    [
      'FastBackend.decode() with one token k + 1 times vs once with k + 1 tokens (the verify step), the cache ' +
        `truncated back after each; medians of ${v.reps} rounds after a warm-up round. speedup = (k + 1) x the median ` +
        '1-token step (steady decoding without speculation) / the (k + 1)-token step: the most speculation can gain ' +
        'when every draft is accepted (a trained Aligner copying the answer gets close to it). The measured k + 1 ' +
        'steps in a row (median of the rounds) are shown for comparison; on this shared machine they are noisier.',
      `others: ${others(v.otherLoadCores)} cores.`,
    ],
  );
}
