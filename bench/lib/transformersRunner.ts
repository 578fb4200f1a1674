// Child process: one greedy generation with transformers.js (@huggingface/transformers, installed
// by scripts/bench-deps.sh outside the project's dependencies) on an Optimum-layout model folder,
// fully offline, with the same prompt ids and exactly the same number of new tokens as the engine.
// Input: one JSON argument (TransformersJob); output: one JSON line (TransformersResult) on stdout.
// A child process keeps its onnxruntime and memory out of the benchmark process's figures.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface TransformersJob {
  /** transformers.js's Node entry file (it is imported by path, not as a dependency). */
  entry: string;
  modelDir: string;
  prompt: string;
  promptIds: number[];
  maxNewTokens: number;
  threads: number;
  /** The engine's thread spinning (server/engine/session.ts), so both run with the same settings. */
  spinning: boolean;
}

export interface TransformersResult {
  version: string;
  loadMs: number;
  /** The prompt as transformers.js's own tokenizer encodes it (compared with the engine's ids). */
  tokenizerIds: number[];
  tokenIds: number[];
  firstTokenMs: number;
  totalMs: number;
  maxRssBytes: number;
  /** CPU time of the whole child process (so the parent can tell it from other processes' load). */
  cpuMs: number;
}

/**
 * This process's peak RSS. Linux keeps getrusage's maxrss across fork + exec, so a child reports at
 * least its parent's peak there; /proc's VmHWM belongs to the new address space.
 */
function peakRss(): number {
  const hwm = existsSync('/proc/self/status') && /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- transformers.js is untyped from here (imported by path) */
async function run(job: TransformersJob): Promise<TransformersResult> {
  const tf: any = await import(pathToFileURL(job.entry).href);
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = dirname(job.modelDir);
  const name = basename(job.modelDir);
  const t0 = performance.now();
  const tokenizer = await tf.AutoTokenizer.from_pretrained(name);
  // The engine's session settings: same threads, same thread spinning (see server/engine/session.ts).
  const spin = job.spinning ? '1' : '0';
  const model = await tf.AutoModelForCausalLM.from_pretrained(name, {
    dtype: 'fp32',
    device: 'cpu',
    session_options: {
      intraOpNumThreads: job.threads,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
    },
  });
  const loadMs = performance.now() - t0;
  const tokenizerIds = (tokenizer(job.prompt).input_ids.tolist()[0] as bigint[]).map(Number);

  const n = job.promptIds.length;
  const inputs = new tf.Tensor('int64', BigInt64Array.from(job.promptIds, BigInt), [1, n]);
  const attention_mask = new tf.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
  const generate = (tokens: number, streamer?: object) =>
    model.generate({
      inputs,
      attention_mask,
      max_new_tokens: tokens,
      min_new_tokens: tokens, // EOS is masked until then: exactly `tokens` new tokens
      do_sample: false,
      ...(streamer ? { streamer } : {}),
    });
  await generate(4); // warm-up, as the engine gets one
  let puts = 0;
  let firstAt = NaN;
  // The first put() is the prompt, the second the first new token.
  const streamer = { put: () => ++puts === 2 && (firstAt = performance.now()), end: () => {} };
  const g0 = performance.now();
  const out = await generate(job.maxNewTokens, streamer);
  const totalMs = performance.now() - g0;
  const ids = (out.tolist()[0] as bigint[]).map(Number).slice(n);
  await model.dispose?.();
  return {
    version: tf.env.version,
    loadMs,
    tokenizerIds,
    tokenIds: ids,
    firstTokenMs: firstAt - g0,
    totalMs,
    maxRssBytes: peakRss(),
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await run(JSON.parse(process.argv[2]) as TransformersJob);
  process.stdout.write(JSON.stringify(result) + '\n');
}
