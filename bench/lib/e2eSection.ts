// Section 4 (and the TTFT part of 7): one greedy correction end to end, the same prompt ids and the
// same number of new tokens, through our engine on each model format and through transformers.js.
import { spinningEnabled } from '../../server/engine/session.js';
import type { Bench } from './context.js';
import { agreement, openHost, promptCase, timedCorrect } from './correct.js';
import { basename, relative, resolve } from 'node:path';
import { SHIPPED_FORMAT } from '../../server/convert/shippedFormat.js';
import { ensureConverted, ensureModel } from './models.js';
import { fmt, others } from './report.js';
import type { Cell } from './report.js';
import { runTransformers, transformersMissing } from './transformers.js';

export interface E2eRow {
  model: string;
  runner: string;
  skipped?: string;
  promptTokens?: number;
  newTokens?: number;
  finishReason?: string;
  loadMs?: number;
  firstTokenMs?: number;
  totalMs?: number;
  /** Engine rows: the engine's own prefill and decode ms. */
  prefillMs?: number;
  decodeMs?: number;
  /** Greedy tokens equal to the reference's (transformers.js, else the engine's Optimum fp32 run) before the first difference. */
  agree?: { same: number; of: number; with: string };
  /** transformers.js: whether its tokenizer gives the engine's prompt ids; its child process's peak RSS. */
  tokenizerMatches?: boolean;
  maxRssBytes?: number;
  otherLoadCores?: number | null;
  tokenIds?: number[];
  /** Total ms of every round (the other fields are the median round's). */
  runsMs?: number[];
  /** TTFT: the median over rounds, and every round's (TTFT varies more than the total from round to round). */
  firstTokenMedianMs?: number;
  firstTokenRunsMs?: number[];
}

const TJS = 'transformers.js, Optimum fp32';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;

/** The run with the median total time (rounds is odd), every round's total, and the median TTFT over rounds. */
function medianRun<T extends { totalMs: number; firstTokenMs?: number }>(
  runs: T[],
): T & { runsMs: number[]; firstTokenMedianMs: number; firstTokenRunsMs: number[] } {
  const byTotal = median(runs.map((r) => r.totalMs));
  const ttfts = runs.map((r) => r.firstTokenMs ?? NaN);
  return {
    ...runs.find((r) => r.totalMs === byTotal)!,
    runsMs: runs.map((r) => r.totalMs),
    firstTokenMedianMs: median(ttfts),
    firstTokenRunsMs: ttfts,
  };
}

/**
 * The runners' model folders: the Optimum fp32 folder (transformers.js and the engine read it) and the
 * fast layout in each dtype, converted from `sourceDir` (a random preset, or a trained Hugging Face
 * folder given with --e2e-model, converted to Optimum fp32 first), and `extraDirs`: model folders
 * already converted (e.g. models/default as shipped), each one more engine row in the same rounds.
 */
async function modelRows(
  bench: Bench,
  model: string,
  sourceDir: string,
  optimumDir: string,
  blockSize?: number,
  extraDirs: string[] = [],
): Promise<E2eRow[]> {
  const s = bench.settings;
  const src = { dir: optimumDir };
  const c = promptCase(src.dir, s.e2ePromptTokens);
  const engines: { runner: string; dir: string }[] = [{ runner: 'engine, Optimum fp32', dir: src.dir }];
  for (const dtype of ['fp32', 'int8', 'int4'] as const) {
    const { dir } = await ensureConverted(sourceDir, 'fast', dtype, dtype === 'fp32' ? undefined : blockSize);
    engines.push({ runner: `engine, fast ${dtype}`, dir });
  }
  for (const dir of extraDirs) engines.push({ runner: `engine, ${relative(process.cwd(), resolve(dir)) || dir}`, dir });
  // Speculation off: this compares formats and implementations; section 5 measures speculation.
  const hosts = [];
  for (const e of engines)
    hosts.push({ ...e, ...(await openHost(e.dir, { threads: s.threads, speculationMaxBatch: 0 })) });
  const missing = transformersMissing();
  const runs = new Map<string, (Omit<E2eRow, 'model' | 'runner'> & { totalMs: number })[]>();
  const add = (runner: string, run: Omit<E2eRow, 'model' | 'runner'> & { totalMs: number }) =>
    runs.set(runner, [...(runs.get(runner) ?? []), run]);
  try {
    // Rounds, each runner once per round (the engines in rotating order, then transformers.js), so
    // drifting load from other processes hits them alike; each row reports its median round.
    for (let round = 0; round < s.e2eRounds; round++) {
      for (let i = 0; i < hosts.length; i++) {
        const h = hosts[(i + round) % hosts.length]!;
        const [r, otherLoadCores] = await bench.withLoad(() => timedCorrect(h.host, c, s.e2eNewTokens));
        add(h.runner, { ...r, newTokens: r.tokenIds.length, loadMs: h.loadMs, otherLoadCores });
      }
      if (!missing) {
        const t0 = performance.now();
        const [t, load] = await bench.withLoad(() =>
          runTransformers({
            modelDir: src.dir,
            prompt: c.prompt,
            promptIds: c.promptIds,
            maxNewTokens: s.e2eNewTokens,
            threads: s.threads,
            spinning: spinningEnabled(),
          }),
        );
        // The load meter counts the child as another process: take its own CPU time out.
        const otherLoadCores = load === null ? null : Math.max(0, load - t.cpuMs / (performance.now() - t0));
        add(`${TJS} (${t.version})`, {
          promptTokens: c.promptIds.length,
          newTokens: t.tokenIds.length,
          finishReason: t.tokenIds.length === s.e2eNewTokens ? 'length' : 'stop',
          loadMs: t.loadMs,
          firstTokenMs: t.firstTokenMs,
          totalMs: t.totalMs,
          tokenizerMatches: JSON.stringify(t.tokenizerIds) === JSON.stringify(c.promptIds),
          maxRssBytes: t.maxRssBytes,
          otherLoadCores,
          tokenIds: t.tokenIds,
        });
      }
      bench.log(
        `${model} round ${round + 1}: ` +
          [...runs].map(([runner, r]) => `${runner.replace(/ \(.*/, '')} ${fmt(r.at(-1)!.totalMs, 0)} ms`).join(', '),
      );
    }
  } finally {
    for (const h of hosts) await h.host.close();
  }
  const rows: E2eRow[] = [...runs].map(([runner, r]) => ({ model, runner, ...medianRun(r) }));
  if (missing) rows.push({ model, runner: TJS, skipped: missing });
  const ref = rows.find((r) => r.runner.startsWith(TJS) && r.tokenIds) ?? rows[0]!;
  for (const r of rows)
    if (r.tokenIds && r !== ref) r.agree = { ...agreement(r.tokenIds, ref.tokenIds!), with: ref.runner };
  return rows;
}

export async function runE2eSection(bench: Bench, trainedDir?: string, extraDirs: string[] = []): Promise<E2eRow[]> {
  const rows: E2eRow[] = [];
  if (trainedDir) {
    const optimum = await ensureConverted(trainedDir, 'optimum', 'fp32');
    // The quantized rows in the shipped model's block size, so "fast int8" is the shipped format.
    const model = basename(resolve(trainedDir));
    rows.push(...(await modelRows(bench, model, trainedDir, optimum.dir, SHIPPED_FORMAT.blockSize, extraDirs)));
  }
  for (const name of bench.settings.e2eModels) {
    const src = await ensureModel(name, { maxPositions: 8192 });
    rows.push(...(await modelRows(bench, `llama-${name}`, src.dir, src.dir)));
  }
  return rows;
}

export function renderE2e(bench: Bench, rows: E2eRow[]): void {
  const s = bench.settings;
  const table: Cell[][] = rows.map((r) => {
    if (r.skipped) return [r.model, r.runner, r.skipped, '', '', '', '', '', '', '', ''];
    const tjs = rows.find((x) => x.model === r.model && x.runner.startsWith(TJS) && x.totalMs);
    const optimum = rows.find((x) => x.model === r.model && x.runner === 'engine, Optimum fp32');
    const speedup = (base?: E2eRow) => (base?.totalMs ? `${fmt(base.totalMs / r.totalMs!, 2)}x` : '—');
    return [
      r.model,
      r.runner,
      `${r.promptTokens} + ${r.newTokens}`,
      fmt(r.firstTokenMedianMs, 0),
      fmt(r.totalMs, 0),
      fmt((r.newTokens! * 1000) / r.totalMs!, 1),
      speedup(tjs),
      speedup(optimum),
      r.agree ? `${r.agree.same}/${r.agree.of}` : r.runner.startsWith(TJS) ? 'reference' : '—',
      fmt(r.loadMs, 0),
      others(r.otherLoadCores ?? null),
    ];
  });
  const tokenizer = rows.filter((r) => r.tokenizerMatches !== undefined);
  bench.report.table(
    `4. End-to-end greedy correction: ~${s.e2ePromptTokens}-token prompt, ${s.e2eNewTokens} new tokens`,
    [
      'model',
      'runner',
      'prompt + new tok',
      'TTFT ms',
      'total ms',
      'new tok/s (total)',
      'vs transformers.js',
      'vs engine Optimum',
      'same greedy tokens',
      'load ms',
      'others (cores)',
    ],
    table,
    [
      `Each row: the median of ${s.e2eRounds} round${s.e2eRounds > 1 ? 's' : ''} (by total ms; TTFT: the median of the rounds' TTFTs); ` +
        'in each round every runner ran once, the engines in rotating order, then transformers.js.',
      `Engine rows: EngineHost (worker thread) with ${s.threads} threads, speculation off (speculationMaxBatch 0; ` +
        'section 5 measures it), after one 4-token warm-up; times from correct() to its result, TTFT to the first ' +
        'streamed delta. The prompt is prefilled in the engine default 128-token chunks.',
      `transformers.js: the same Optimum fp32 folder offline, in a child process per round, the engine prompt ids, ` +
        `min_new_tokens = max_new_tokens = ${s.e2eNewTokens}, do_sample false, the same ORT session settings ` +
        `(${s.threads} intra-op threads, spinning ${spinningEnabled() ? 'on' : 'off'}; huge pages as this process), after ` +
        `one 4-token warm-up; TTFT = its streamer's first new token.`,
      'vs X = X total ms / this total ms (> 1: this row is faster). same greedy tokens: leading tokens equal to the ' +
        'transformers.js run (random weights: int8/int4 differ from fp32 after a few tokens because the top-2 logit ' +
        'gap of a random model is tiny, not because the kernels are wrong).',
      ...(tokenizer.length
        ? [
            `transformers.js tokenizer gives the engine's prompt ids: ${tokenizer.map((r) => `${r.model} ${r.tokenizerMatches ? 'yes' : 'NO'}`).join(', ')}.`,
          ]
        : []),
    ],
  );
}

export function renderTtft(bench: Bench, rows: E2eRow[]): void {
  const measured = rows.filter((r) => !r.skipped);
  if (!measured.length) return;
  bench.report.table(
    '7a. Time to first token (from section 4)',
    [
      'model',
      'runner',
      'prompt tok',
      'TTFT ms (median of rounds)',
      'TTFT ms per round',
      'engine prefill ms',
      'child peak RSS MiB',
    ],
    measured.map((r) => [
      r.model,
      r.runner,
      r.promptTokens ?? '—',
      fmt(r.firstTokenMedianMs, 0),
      r.firstTokenRunsMs?.map((t) => fmt(t, 0)).join(' ') ?? '—',
      fmt(r.prefillMs, 0),
      r.maxRssBytes ? fmt(r.maxRssBytes / 2 ** 20, 0) : '—',
    ]),
  );
}
