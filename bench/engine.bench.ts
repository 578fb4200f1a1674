// Engine benchmark on CPU: prefill and decode speed of the ONNX decoder on two random-weight llama
// test models (~17M and ~100M parameters), decode time against the memory-bandwidth bound, and one
// end-to-end correction through EngineHost. Prints tables; writes bench/results/engine.json.
// Run: npm run bench:engine (under 2 minutes on 2 cores; the first run also writes the models, a few seconds).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { defaultThreads } from '../server/engine/host.js';
import { readModelFolder } from '../server/engine/modelFolder.js';
import type { OnnxDecoder } from '../server/engine/onnxDecoder.js';
import { measureBandwidth } from './lib/bandwidth.js';
import { decodeRuns, openDecoder, prefillRuns } from './lib/decoder.js';
import { endToEnd } from './lib/e2e.js';
import type { EndToEndResult } from './lib/e2e.js';
import { LoadMeter } from './lib/load.js';
import { MODEL_CACHE_DIR, ensureModel } from './lib/models.js';
import type { BenchModel, PresetName } from './lib/models.js';
import { median, round } from './lib/stats.js';
import { describeMachine } from './lib/machine.js';
import { table } from './lib/table.js';

const MODELS: PresetName[] = ['17m', '100m'];
const PREFILL_TOKENS = 256;
const PREFILL_RUNS = 7;
const DECODE_STEPS = 30;
const BANDWIDTH_MIB = 512;
const BANDWIDTH_REPS = 10;
const E2E_PROMPT_TOKENS = 300;
const E2E_NEW_TOKENS = 128;

interface DecodeFigure {
  threads: number;
  context: number;
  steps: number;
  /** Median ms per step. */
  msPerToken: number;
  /** Fastest step: the least disturbed by other load. */
  minMs: number;
  tokensPerSecond: number;
  boundMs: number;
  fractionOfBound: number;
  /** Cores' worth of CPU that other processes used meanwhile (null off Linux). */
  otherLoadCores: number | null;
  stepMs: number[];
}

interface ModelFigures {
  model: BenchModel;
  prefill: {
    tokens: number;
    threads: number;
    medianMs: number;
    minMs: number;
    tokensPerSecond: number;
    otherLoadCores: number | null;
    runMs: number[];
  };
  decode: DecodeFigure[];
  e2e?: EndToEndResult & { otherLoadCores: number | null };
}

/** "family 25 model 17" from /proc/cpuinfo (Linux), since a VM's model name can be as short as "AMD EPYC". */

const started = performance.now();
const load = new LoadMeter();
/** Runs `fn` and says how many cores' worth of CPU other processes took meanwhile. */
async function withLoad<T>(fn: () => T | Promise<T>): Promise<[T, number | null]> {
  load.lap();
  const value = await fn();
  return [value, load.lap()];
}
const threads = defaultThreads();
const log = (msg: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);

const machine = describeMachine();
log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`);

// Measured at the start and again at the end of the run: on a shared machine the better one is the truer.
async function bandwidthNow(when: string) {
  log(`memory bandwidth, ${when} (${BANDWIDTH_MIB} MiB Float64Arrays, best of ${BANDWIDTH_REPS})…`);
  const [bw, otherLoadCores] = await withLoad(() => measureBandwidth(BANDWIDTH_MIB, BANDWIDTH_REPS));
  return { ...bw, otherLoadCores };
}
const bandwidthAtStart = await bandwidthNow('start');

const figures: ModelFigures[] = [];
for (const name of MODELS) {
  const model = await ensureModel(name);
  log(
    `${name}: ${model.written ? `wrote ${model.dir} in ${(model.writeMs / 1000).toFixed(1)} s` : `reusing ${model.dir}`}`,
  );
  const spec = readModelFolder(model.dir);
  const decodeFigure = async (dec: OnnxDecoder, t: number, context: number): Promise<DecodeFigure> => {
    const [stepMs, otherLoadCores] = await withLoad(() => decodeRuns(dec, context, DECODE_STEPS));
    const ms = median(stepMs);
    return {
      threads: t,
      context,
      steps: stepMs.length,
      msPerToken: ms,
      minMs: Math.min(...stepMs),
      tokensPerSecond: 1000 / ms,
      boundMs: NaN, // filled in once the bandwidth is measured again at the end
      fractionOfBound: NaN,
      otherLoadCores,
      stepMs,
    };
  };

  const dec = await openDecoder(spec, threads);
  const [runMs, prefillLoad] = await withLoad(() => prefillRuns(dec, PREFILL_TOKENS, PREFILL_RUNS));
  const prefillMs = median(runMs);
  log(`${name}: prefill ${PREFILL_TOKENS} tokens ${prefillMs.toFixed(0)} ms`);
  const decode = [await decodeFigure(dec, threads, 256), await decodeFigure(dec, threads, 1024)];
  await dec.close();
  if (threads !== 1) {
    const single = await openDecoder(spec, 1);
    decode.splice(1, 0, await decodeFigure(single, 1, 256));
    await single.close();
  }
  log(`${name}: decode ${decode.map((d) => `${d.threads}t ctx${d.context} ${d.msPerToken.toFixed(1)} ms`).join(', ')}`);
  figures.push({
    model,
    prefill: {
      tokens: PREFILL_TOKENS,
      threads,
      medianMs: prefillMs,
      minMs: Math.min(...runMs),
      tokensPerSecond: (PREFILL_TOKENS * 1000) / prefillMs,
      otherLoadCores: prefillLoad,
      runMs,
    },
    decode,
  });
}

for (const f of figures) {
  log(`${f.model.name}: end to end through EngineHost…`);
  const [e2e, otherLoadCores] = await withLoad(() => endToEnd(f.model.dir, E2E_PROMPT_TOKENS, E2E_NEW_TOKENS));
  f.e2e = { ...e2e, otherLoadCores };
}

const bandwidthAtEnd = await bandwidthNow('end');
// Decode at batch 1 streams every weight once per token. The bound uses copy (a native memcpy): the
// triad is a scalar JIT loop that can be CPU-limited (compare its in-cache figure).
const boundGBs = Math.max(bandwidthAtStart.copyGBs, bandwidthAtEnd.copyGBs);
for (const f of figures) {
  for (const d of f.decode) {
    d.boundMs = (f.model.weightBytes / (boundGBs * 1e9)) * 1e3;
    d.fractionOfBound = d.boundMs / d.msPerToken;
  }
}

const wallMs = performance.now() - started;
const fmt = (x: number, d = 1) => x.toFixed(d);
const others = (cores: number | null) => (cores === null ? 'n/a' : fmt(cores, 2));
const otherLoadTotal = load.total();
const paramsM = (f: ModelFigures) => `${fmt(f.model.parameters / 1e6)}M`;

console.log(
  `\nMachine: ${machine.cpuModel} (${machine.cpuId}), ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}`,
);
console.log(
  `Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}, CPU EP fp32, default threads = ${threads}`,
);
console.log(
  `Load average at start: ${machine.loadAverageAtStart.join(' ')}; other processes used ${others(otherLoadTotal)} ` +
    `of ${machine.cores} cores on average during the run ("others" columns: the same per measurement)`,
);
console.log(`\nMemory bandwidth: 1 JS thread, ${BANDWIDTH_MIB} MiB Float64Arrays, best of ${BANDWIDTH_REPS}`);
console.log(
  table(
    ['when', 'copy GB/s', 'triad GB/s', 'triad in cache GB/s', 'others (cores)'],
    (
      [
        ['start', bandwidthAtStart],
        ['end', bandwidthAtEnd],
      ] as const
    ).map(([when, b]) => [when, fmt(b.copyGBs), fmt(b.triadGBs), fmt(b.triadInCacheGBs), others(b.otherLoadCores)]),
  ),
);
console.log(`Bound bandwidth: the better copy = ${fmt(boundGBs)} GB/s`);

console.log(
  `\nPrefill: ${PREFILL_TOKENS}-token prompt in one step, batch 1, ${threads} threads, median of ${PREFILL_RUNS}`,
);
console.log(
  table(
    ['model', 'params', 'fp32 weights', 'prefill ms', 'prefill tok/s', 'others (cores)'],
    figures.map((f) => [
      `llama-${f.model.name}`,
      paramsM(f),
      `${fmt(f.model.weightBytes / 1e6, 0)} MB`,
      fmt(f.prefill.medianMs),
      fmt(f.prefill.tokensPerSecond, 0),
      others(f.prefill.otherLoadCores),
    ]),
  ),
);

console.log(
  `\nDecode: batch 1, cache pre-filled to ctx, ms/token = median of ${DECODE_STEPS} steps; ` +
    `bound = params x 4 B (fp32) / copy bandwidth; bound/measured uses the median`,
);
console.log(
  table(
    ['model', 'threads', 'ctx', 'ms/token', 'min ms', 'tok/s', 'bound ms', 'bound/measured', 'others (cores)'],
    figures.flatMap((f) =>
      f.decode.map((d) => [
        `llama-${f.model.name}`,
        d.threads,
        d.context,
        fmt(d.msPerToken, 2),
        fmt(d.minMs, 2),
        fmt(d.tokensPerSecond),
        fmt(d.boundMs, 2),
        `${fmt(d.fractionOfBound * 100, 0)} %`,
        others(d.otherLoadCores),
      ]),
    ),
  ),
);

console.log(`\nEnd to end: EngineHost (worker thread, default options), one greedy correction, after one warm-up`);
console.log(
  table(
    [
      'model',
      'threads',
      'prompt tok',
      'new tok',
      'finish',
      'TTFT ms',
      'prefill ms',
      'decode tok/s',
      'total ms',
      'others (cores)',
    ],
    figures.map((f) => {
      const e = f.e2e!;
      return [
        `llama-${f.model.name}`,
        e.threads,
        e.promptTokens,
        e.completionTokens,
        e.finishReason,
        fmt(e.firstTokenMs, 0),
        fmt(e.prefillMs, 0),
        fmt(e.decodeTokensPerSecond),
        fmt(e.totalMs, 0),
        others(e.otherLoadCores),
      ];
    }),
  ),
);
console.log(`\nWall time: ${fmt(wallMs / 1000)} s`);

const result = {
  date: new Date().toISOString(),
  machine: { ...machine, loadAverageAtEnd: loadavg().map((x) => round(x)), otherLoadCores: otherLoadTotal },
  settings: {
    executionProvider: 'cpu',
    precision: 'fp32',
    defaultThreads: threads,
    modelCacheDir: MODEL_CACHE_DIR,
    prefillTokens: PREFILL_TOKENS,
    prefillRuns: PREFILL_RUNS,
    decodeSteps: DECODE_STEPS,
    e2ePromptTokens: E2E_PROMPT_TOKENS,
    e2eMaxNewTokens: E2E_NEW_TOKENS,
  },
  bandwidth: { atStart: bandwidthAtStart, atEnd: bandwidthAtEnd, usedForBound: 'max of the two copyGBs', boundGBs },
  notes: [
    'Units: ms = milliseconds, tok/s = tokens per second, GB/s = 1e9 bytes per second.',
    "otherLoadCores: cores' worth of CPU that other processes used during that measurement (from /proc/stat less this " +
      "process's own CPU time); this machine is shared, and figures taken while it is above ~0.2 are slowed by it.",
    'Bandwidth: one JS thread; STREAM byte counts (copy 16 B/element, triad 24 B/element), write-allocate not counted.',
    'Decode bound: boundMs = weightBytes / boundGBs, the better copy bandwidth of start and end (copy = TypedArray.set, a native memcpy; the triad is a scalar JS loop that can be CPU-limited, see triadInCacheGBs, so it can understate memory bandwidth), weightBytes = parameters x 4 (fp32, every weight read once per token; ' +
      'the input embedding is in fact only gathered one row per token, so the true bound is a little lower). fractionOfBound = boundMs / measured ms.',
    'Decode contexts: the cache is pre-filled to `context` by one prefill step; the context then grows by one per timed step. 2 untimed warm-up steps.',
    'End to end: firstTokenMs and totalMs are measured on the host side around EngineHost.correct(); prefillMs, decodeMs and ' +
      "decodeTokensPerSecond (completion tokens / decodeMs) are the engine's own timings. The prompt is prefilled in the engine's default chunks.",
  ],
  models: figures.map((f) => ({
    name: `llama-${f.model.name}`,
    dir: f.model.dir,
    parameters: f.model.parameters,
    weightBytes: f.model.weightBytes,
    prefill: f.prefill,
    decode: f.decode,
    endToEnd: f.e2e,
  })),
  wallMs,
};
const out = new URL('./results/engine.json', import.meta.url);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const fourDigits = (_: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 4) : v);
writeFileSync(out, JSON.stringify(result, fourDigits, 2) + '\n');
console.log(`Wrote ${out.pathname}`);
