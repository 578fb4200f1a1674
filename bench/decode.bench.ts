// Decode speed of the converted layouts, side by side in one process.
//   node --import tsx bench/decode.bench.ts [--preset 17m] [--ctx 256] [--batches 1,16] [--threads 1]
// Writes the llama test model of the preset, converts it (optimum, fast fp32/fp16/int8/int4), then times
// decode steps with a pre-filled cache of `ctx` tokens: Optimum feeds past [B, H, ctx, D] and gets the
// concatenated present back; fast feeds the engine-owned buffers and copies new.{i}.* into them (as the
// engine will). Rounds alternate between variants so machine noise hits them alike.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { convertModel, type ConvertDtype } from '../server/convert/convertModel.js';
import { TEST_MODEL_PRESETS, writeTestModel } from '../server/testmodel/writeTestModel.js';
import { MASKED as MASK } from '../server/engine/fastDecoder.js';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: '17m' },
    ctx: { type: 'string', default: '256' },
    batches: { type: 'string', default: '1,16' },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
  },
});
const ctx = Number(args.ctx);
const threads = Number(args.threads);
const root = mkdtempSync(join(tmpdir(), 'aligner-bench-'));
const preset = TEST_MODEL_PRESETS[args.preset as keyof typeof TEST_MODEL_PRESETS];
const src = join(root, 'src');
const summary = await writeTestModel({ type: 'llama', outDir: src, ...preset, safetensors: true });
const cfg = summary.config as Record<string, number>;
const [L, Hkv, D, V] = [cfg.num_hidden_layers, cfg.num_key_value_heads, cfg.head_dim, cfg.vocab_size];

interface Variant {
  name: string;
  session: ort.InferenceSession;
  mib: number;
  loadMs: number;
  fast: boolean;
}
const variants: Variant[] = [];
const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
};
async function add(name: string, dir: string, fast: boolean) {
  const file = join(dir, 'onnx', 'model.onnx');
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(file, sessionOptions);
  variants.push({ name, session, fast, mib: statSync(file).size / 2 ** 20, loadMs: performance.now() - t0 });
}
await add('optimum fp32', src, false);
for (const dtype of ['fp32', 'fp16', 'int8', 'int4'] as ConvertDtype[]) {
  const out = join(root, dtype);
  const s = await convertModel({ from: src, out, dtype });
  await add(`fast ${dtype}`, out, true);
  console.log(
    `converted fast ${dtype} in ${s.seconds.toFixed(1)} s, max weight error ${s.maxWeightError.toExponential(2)}`,
  );
}

function randomKv(n: number) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i) * 0.5;
  return a;
}

/** Mean ms per decode step over `steps` steps (cache length stays ctx). */
async function time(v: Variant, B: number, steps: number): Promise<number> {
  const kvDims = [B, Hkv, ctx, D];
  const buffers = Array.from({ length: 2 * L }, () => randomKv(B * Hkv * ctx * D));
  const ids = new ort.Tensor('int64', new BigInt64Array(B).fill(5n), [B, 1]);
  const pos = new ort.Tensor('int64', new BigInt64Array(B).fill(BigInt(ctx - 1)), [B, 1]);
  const feeds: Record<string, ort.Tensor> = { input_ids: ids, position_ids: pos };
  if (v.fast) {
    const bias = new Float32Array(B * ctx);
    // ctx - 1 valid past slots; the last one is where the engine would put the new token
    for (let b = 0; b < B; b++) bias[b * ctx + ctx - 1] = MASK;
    feeds.past_bias = new ort.Tensor('float32', bias, [B, 1, 1, ctx]);
  } else {
    feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(B * ctx).fill(1n), [B, ctx]);
    kvDims[2] = ctx - 1;
  }
  for (let i = 0; i < L; i++) {
    const n = kvDims.reduce((a, b) => a * b, 1);
    feeds[`past_key_values.${i}.key`] = new ort.Tensor('float32', buffers[2 * i].subarray(0, n), kvDims);
    feeds[`past_key_values.${i}.value`] = new ort.Tensor('float32', buffers[2 * i + 1].subarray(0, n), kvDims);
  }
  let t0 = 0;
  for (let s = -3; s < steps; s++) {
    if (s === 0) t0 = performance.now();
    const out = await v.session.run(feeds);
    if (v.fast) {
      // the engine's part: copy the new K/V into its buffers at the row's length
      for (let i = 0; i < L; i++)
        for (const [k, kind] of [
          [0, 'key'],
          [1, 'value'],
        ] as const) {
          const src = out[`new.${i}.${kind}`].data as Float32Array;
          const buf = buffers[2 * i + k];
          for (let bh = 0; bh < B * Hkv; bh++) buf.set(src.subarray(bh * D, (bh + 1) * D), (bh * ctx + ctx - 1) * D);
        }
    }
    void (out.logits.data as Float32Array)[V - 1];
  }
  return (performance.now() - t0) / steps;
}

const batches = args.batches.split(',').map(Number);
const results = new Map<string, number[]>();
for (let r = 0; r < Number(args.rounds); r++)
  for (const B of batches)
    for (const v of variants) {
      const ms = await time(v, B, B === 1 ? 40 : 10);
      const key = `${v.name}|${B}`;
      results.set(key, [...(results.get(key) ?? []), ms]);
    }

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(
  `\nllama ${args.preset} (${(summary.parameters / 1e6).toFixed(1)}M), ctx ${ctx}, ${threads} thread(s), median of ${args.rounds} rounds, ms/step (tok/s)`,
);
console.log(['variant', 'file MiB', 'load ms', ...batches.map((b) => `B${b}`)].join(' | '));
for (const v of variants) {
  const cells = batches.map((B) => {
    const all = results.get(`${v.name}|${B}`)!;
    const ms = median(all);
    // the best round too: on a shared machine it is the least disturbed one
    return `${ms.toFixed(2)} (${Math.round((1000 * B) / ms)}) best ${Math.min(...all).toFixed(2)}`;
  });
  console.log([v.name, v.mib.toFixed(1), v.loadMs.toFixed(0), ...cells].join(' | '));
}
rmSync(root, { recursive: true, force: true });
