// The full CPU benchmark: decode speed through the engine's KV backends (random llama models of
// ~17M/100M/500M parameters, fast layout fp32/int8/int4 and the Optimum layout, ctx 256/1024/4096,
// batch 1 and 16), the memory-bandwidth bound, batch scaling, end-to-end corrections against
// transformers.js, speculation, WebSocket overhead, time to first token, memory. Prints a table per
// section; writes bench/results/all.json and bench/results/bench.md.
// Run: npm run bench [-- --quick] [-- --only 1,4,...] [-- --model DIR (section 5's model)]
//   [-- --e2e-model HF_DIR (section 4 also on a trained Hugging Face folder, in every format)]
//   [-- --out NAME: write results/NAME.json and NAME.md instead of all.json and bench.md, for partial runs]
//   [-- --presets 17m,100m|none: section 1's random models (the default model is always measured)]
// Sections 1-3 and 7b come from one measurement; 7a needs 4. The first run also writes and converts
// the models (~3 minutes, cached in the OS temp folder).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultThreads } from '../server/engine/host.js';
import { measureBandwidth, measureParallelCopy } from './lib/bandwidth.js';
import { Bench } from './lib/context.js';
import type { BenchSettings } from './lib/context.js';
import {
  DEFAULT_MODEL_DIR,
  renderBatchScaling,
  renderBound,
  renderDecode,
  renderKvBytes,
  runDecodeSection,
} from './lib/decodeSection.js';
import { renderE2e, renderTtft, runE2eSection } from './lib/e2eSection.js';
import { MODEL_CACHE_DIR } from './lib/models.js';
import { fmt, others } from './lib/report.js';
import { renderSpeculation, runSpeculationSection } from './lib/speculationSection.js';
import { round } from './lib/stats.js';
import { describeMachine } from './lib/machine.js';
import { renderTransport, runTransportSection } from './lib/transportSection.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    model: { type: 'string' },
    /** Section 4 on a trained Hugging Face folder too (converted to each format), before the presets. */
    'e2e-model': { type: 'string' },
    /** With --e2e-model: model folders already converted, one more engine row each in the same rounds. */
    'e2e-extra': { type: 'string', multiple: true },
    out: { type: 'string' },
    presets: { type: 'string' },
    /** Section 4's rounds and new tokens (e.g. many short rounds for a steadier TTFT). */
    'e2e-rounds': { type: 'string' },
    'e2e-new-tokens': { type: 'string' },
  },
});
const only = new Set((args.only ?? '1,2,3,4,5,6,7').split(',').map((x) => x.trim()));
const wants = (...sections: string[]) => sections.some((s) => only.has(s));

const threads = defaultThreads();
const FULL: BenchSettings = {
  quick: false,
  threads,
  models: ['17m', '100m', '500m'],
  contexts: [256, 1024, 4096],
  batches: [1, 16],
  stepBudgetMs: 1500,
  minSteps: 2,
  maxSteps: 12,
  seedPrefill: 512,
  e2eModels: ['100m', '17m'],
  e2ePromptTokens: 300,
  e2eNewTokens: 128,
  e2eRounds: 3,
  specRowsPerGroup: 8,
  specNewTokens: 128,
  verifyDrafts: [1, 2, 4, 8, 12],
  verifyModel: '100m',
  verifyContext: 300,
  transportReps: 30,
  bandwidthMiB: 512,
  bandwidthReps: 5,
};
const QUICK: BenchSettings = {
  ...FULL,
  quick: true,
  models: ['17m'],
  contexts: [256, 1024],
  stepBudgetMs: 200,
  maxSteps: 4,
  seedPrefill: 256,
  e2eModels: ['17m'],
  e2eNewTokens: 32,
  e2eRounds: 1,
  specRowsPerGroup: 2,
  specNewTokens: 32,
  verifyDrafts: [1, 4],
  verifyModel: '17m',
  transportReps: 5,
  bandwidthMiB: 128,
  bandwidthReps: 3,
};
function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a positive integer, not ${text}`);
  return n;
}
const presets = args.presets?.split(',').filter((p) => p && p !== 'none') as BenchSettings['models'] | undefined;
const bench = new Bench({
  ...(args.quick ? QUICK : FULL),
  ...(presets ? { models: presets } : {}),
  // A trained model for section 4 replaces its random presets: one measurement of what ships.
  ...(args['e2e-model'] ? { e2eModels: [] } : {}),
  ...(args['e2e-rounds'] ? { e2eRounds: positiveInt(args['e2e-rounds'], '--e2e-rounds') } : {}),
  ...(args['e2e-new-tokens'] ? { e2eNewTokens: positiveInt(args['e2e-new-tokens'], '--e2e-new-tokens') } : {}),
});
const s = bench.settings;

/** "AuthenticAMD family 25 model 17" from /proc/cpuinfo, since a VM's model name can be as short as "AMD EPYC". */
const machine = describeMachine();
bench.log(
  `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}` +
    `${s.quick ? ' (quick)' : ''}; sections ${[...only].join(',')}`,
);

/** Peak RSS of this process (the engine workers included) after each section. */
const peakRss: [string, number][] = [];
const notePeak = (after: string) => peakRss.push([after, process.resourceUsage().maxRSS * 1024]);

async function bandwidthNow(when: string) {
  bench.log(`memory bandwidth, ${when} (${s.bandwidthMiB} MiB arrays, best of ${s.bandwidthReps})…`);
  const [bw, otherLoadCores] = await bench.withLoad(async () => ({
    ...measureBandwidth(s.bandwidthMiB, s.bandwidthReps),
    parallelCopyGBs: threads > 1 ? await measureParallelCopy(threads, s.bandwidthMiB, s.bandwidthReps) : null,
  }));
  return { ...bw, otherLoadCores };
}
const needsBandwidth = wants('2');
const bandwidthAtStart = needsBandwidth ? await bandwidthNow('start') : null;

const decode = wants('1', '2', '3', '7') ? await runDecodeSection(bench) : null;
if (decode) notePeak('1. decode');
const e2e = wants('4', '7') ? await runE2eSection(bench, args['e2e-model'], args['e2e-extra']) : null;
if (e2e) notePeak('4. end to end');
const speculation = wants('5') ? await runSpeculationSection(bench, args.model) : null;
if (speculation) notePeak('5. speculation');
const transport =
  wants('6') && existsSync(DEFAULT_MODEL_DIR) ? await runTransportSection(bench, DEFAULT_MODEL_DIR) : null;
if (transport) notePeak('6. WebSocket');
const bandwidthAtEnd = needsBandwidth ? await bandwidthNow('end') : null;
const wallMs = performance.now() - bench.started;

// ---- report
const r = bench.report;
const otherLoad = bench.load.total();
r.note(
  'Machine',
  `${machine.cpuModel} (${machine.cpuId ?? 'n/a'}), ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}; ` +
    `Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode} (CPU EP), ${threads} intra-op threads; ` +
    `huge pages ${machine.hugePages.requested ? 'requested' : 'not requested'} (kernel THP mode: ${machine.hugePages.kernelMode ?? 'n/a'}).`,
  `Load average at start ${machine.loadAverageAtStart.join(' ')}; other processes used ${others(otherLoad)} of ` +
    `${machine.cores} cores on average during the run ("others" columns: the same per measurement). The machine is ` +
    'shared, so absolute figures are rough; ratios are measured side by side in the same run.',
  `Wall time ${fmt(wallMs / 1000)} s${s.quick ? ' (--quick)' : ''}; ${new Date().toISOString()}.`,
);
let boundGBs: number | null = null;
if (bandwidthAtStart && bandwidthAtEnd) {
  const copies = [bandwidthAtStart, bandwidthAtEnd].flatMap((b) => [b.copyGBs, b.parallelCopyGBs ?? 0]);
  boundGBs = Math.max(...copies);
  r.table(
    'Memory bandwidth',
    ['when', 'copy GB/s', `copy x ${threads} threads GB/s`, 'triad GB/s', 'triad in cache GB/s', 'others (cores)'],
    (
      [
        ['start', bandwidthAtStart],
        ['end', bandwidthAtEnd],
      ] as const
    ).map(([when, b]) => [
      when,
      fmt(b.copyGBs),
      fmt(b.parallelCopyGBs),
      fmt(b.triadGBs),
      fmt(b.triadInCacheGBs),
      others(b.otherLoadCores),
    ]),
    [
      `${s.bandwidthMiB} MiB Float64Arrays, best of ${s.bandwidthReps}; copy = TypedArray.set (a native memcpy) on ` +
        `one JS thread, and on ${threads} worker threads at once (each its own arrays; the engine reads weights ` +
        `with ${threads} threads); triad = a JS loop (CPU-limited when near its in-cache figure). The bound uses ` +
        `the best copy figure: ${fmt(boundGBs)} GB/s.`,
    ],
  );
}
if (decode) {
  if (wants('1')) renderDecode(bench, decode);
  if (wants('2') && boundGBs) renderBound(bench, decode, boundGBs);
  if (wants('3')) renderBatchScaling(bench, decode);
}
if (e2e && wants('4')) renderE2e(bench, e2e);
if (speculation) renderSpeculation(bench, speculation);
if (transport) renderTransport(bench, transport);
else if (wants('6')) r.note('6. WebSocket JSON-RPC overhead per request', `skipped: no ${DEFAULT_MODEL_DIR}`);
if (wants('7')) {
  if (e2e) renderTtft(bench, e2e);
  if (decode) renderKvBytes(bench, decode);
  r.table(
    '7c. Peak RSS of the benchmark process',
    ['after section', 'peak RSS MiB'],
    peakRss.map(([after, bytes]) => [after, fmt(bytes / 2 ** 20, 0)]),
    [
      'process.resourceUsage().maxRSS: the whole process, engine worker threads included, so it is set by the ' +
        'largest measurement so far (batch 16 at ctx 4096 holds the biggest caches; several sessions are open at once).',
    ],
  );
}

const result = {
  date: new Date().toISOString(),
  machine: { ...machine, loadAverageAtEnd: loadavg().map((x) => round(x)), otherLoadCores: otherLoad },
  settings: { ...s, sections: [...only], modelCacheDir: MODEL_CACHE_DIR, specModel: args.model ?? null },
  bandwidth: { atStart: bandwidthAtStart, atEnd: bandwidthAtEnd, boundGBs },
  decode,
  endToEnd: e2e,
  speculation,
  transport,
  peakRssBytes: Object.fromEntries(peakRss),
  wallMs,
};
const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const fourDigits = (_: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 4) : v);
const [jsonName, mdName] = args.out ? [`${args.out}.json`, `${args.out}.md`] : ['all.json', 'bench.md'];
writeFileSync(new URL(jsonName, resultsDir), JSON.stringify(result, fourDigits, 2) + '\n');
writeFileSync(new URL(mdName, resultsDir), r.markdown('Aligner engine benchmark (CPU)'));
console.log(`\nWall time ${fmt(wallMs / 1000)} s. Wrote ${new URL(jsonName, resultsDir).pathname} and ${mdName}`);
