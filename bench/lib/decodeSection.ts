// Sections 1-3 (and the KV part of 7): decode ms/token through the engine's KV backends for each
// model, layout and dtype, at several contexts and batch sizes; the memory-bandwidth bound; batch
// scaling; the KV bytes the fast backend allocates.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelSpec } from '../../server/engine/modelFolder.js';
import type { KvBackend } from '../../server/engine/kv/backend.js';
import type { Bench } from './context.js';
import { REPO_ROOT } from './context.js';
import { openBackend, prefillSeed, seededSlots, timeDecode } from './kvDecode.js';
import { ensureConverted, ensureModel } from './models.js';
import type { PresetName } from './models.js';
import { fmt, others } from './report.js';
import type { Cell } from './report.js';
import { median } from './stats.js';
import { kvBytesPerPosition, readShape, weightBytesPerToken } from './traffic.js';
import type { ModelShape, WeightDtype } from './traffic.js';

export interface Variant {
  layout: 'fast' | 'optimum';
  dtype: WeightDtype;
  dir: string;
}

export interface DecodeCell {
  layout: Variant['layout'];
  dtype: WeightDtype;
  context: number;
  rows: number;
  /** Set when the cell was not measured, with the reason. */
  skipped?: string;
  /** Median ms of one backend.decode() step (one token for each of `rows` rows). */
  msPerStep?: number;
  minMs?: number;
  tokensPerSecond?: number;
  steps?: number;
  /** setBatch(): the rows' caches copied into the batch (fast) or re-packed (Optimum). */
  joinMs?: number;
  kvBytes?: number;
  kvPositions?: number;
  otherLoadCores?: number | null;
  stepMs?: number[];
}

export interface ModelDecode {
  model: string;
  parameters: number | null;
  shape: ModelShape;
  variants: (Variant & { loadMs: number })[];
  seed: { prefilled: number; length: number; prefillMs: number; by: string };
  cells: DecodeCell[];
}

/** The Optimum cache is concatenated and copied out every step: past ~1.3 GB that takes many seconds and GB. */
const OPTIMUM_MAX_CACHE_BYTES = 1.3e9;

const variantName = (v: { layout: string; dtype: string }) => `${v.layout} ${v.dtype}`;

/** A test model and its conversions: fast fp32/int8/int4, plus the Optimum folder itself below 500M. */
async function presetVariants(bench: Bench, name: PresetName): Promise<{ variants: Variant[]; parameters: number }> {
  const m = await ensureModel(name, { maxPositions: 8192 }); // room for ctx 4096 + steps
  if (m.written) bench.log(`${name}: wrote ${m.dir} in ${fmt(m.writeMs / 1000)} s`);
  const variants: Variant[] = [];
  for (const dtype of ['fp32', 'int8', 'int4'] as const) {
    const c = await ensureConverted(m.dir, 'fast', dtype);
    if (c.written) bench.log(`${name}: converted to fast ${dtype} in ${fmt(c.writeMs / 1000)} s`);
    variants.push({ layout: 'fast', dtype, dir: c.dir });
  }
  if (name !== '500m') variants.push({ layout: 'optimum', dtype: 'fp32', dir: m.dir });
  return { variants, parameters: m.parameters };
}

function skipReason(v: Variant, shape: ModelShape, context: number, rows: number): string | undefined {
  if (v.layout === 'optimum' && rows * context * kvBytesPerPosition(shape) > OPTIMUM_MAX_CACHE_BYTES)
    return 'skipped (memory and time: the Optimum layout copies the whole cache every step)';
  return undefined;
}

async function measureModel(
  bench: Bench,
  model: string,
  variants: Variant[],
  parameters: number | null,
): Promise<ModelDecode> {
  const s = bench.settings;
  const opened: { v: Variant; backend: KvBackend; spec: ModelSpec; loadMs: number }[] = [];
  for (const v of variants) {
    const o = await openBackend(v.dir, s.threads);
    // A folder's real layout wins over the expected one (models/default can be either).
    opened.push({ v: { ...v, layout: o.backend.layout }, ...o });
  }
  const shape = readShape(variants[0]!.dir);
  const maxContext = Math.max(...s.contexts);
  const seeder = opened[0]!;
  const seed = await prefillSeed(seeder.backend, seeder.spec, Math.min(s.seedPrefill, maxContext), maxContext);
  bench.log(
    `${model}: loaded ${opened.map((o) => `${variantName(o.v)} ${fmt(o.loadMs / 1000)} s`).join(', ')}; ` +
      `prefilled ${seed.prefilled} tokens in ${fmt(seed.prefillMs, 0)} ms`,
  );
  const cells: DecodeCell[] = [];
  // Variants run side by side for each context and batch size, so drifting load hits them alike.
  for (const context of s.contexts) {
    for (const rows of s.batches) {
      for (const { v, backend } of opened) {
        const base = { layout: v.layout, dtype: v.dtype, context, rows };
        const skipped = skipReason(v, shape, context, rows);
        if (skipped) {
          cells.push({ ...base, skipped });
          continue;
        }
        const budget = { budgetMs: s.stepBudgetMs, minSteps: s.minSteps, maxSteps: s.maxSteps };
        const [t, otherLoadCores] = await bench.withLoad(() =>
          timeDecode(backend, seededSlots(backend, seed, rows, context), budget),
        );
        const ms = median(t.stepMs);
        cells.push({
          ...base,
          msPerStep: ms,
          minMs: Math.min(...t.stepMs),
          tokensPerSecond: (rows * 1000) / ms,
          steps: t.stepMs.length,
          joinMs: t.joinMs,
          kvBytes: t.kvBytes,
          kvPositions: t.kvPositions,
          otherLoadCores,
          stepMs: t.stepMs,
        });
      }
      const done = cells.filter((c) => c.context === context && c.rows === rows);
      bench.log(
        `${model} ctx ${context} x ${rows}: ` +
          done.map((c) => `${variantName(c)} ${c.skipped ? 'skipped' : `${fmt(c.msPerStep)} ms`}`).join(', '),
      );
    }
  }
  for (const o of opened) await o.backend.close();
  return {
    model,
    parameters,
    shape,
    variants: opened.map((o) => ({ ...o.v, loadMs: o.loadMs })),
    seed: { prefilled: seed.prefilled, length: seed.length, prefillMs: seed.prefillMs, by: variantName(seeder.v) },
    cells,
  };
}

/** The dtype `aligner convert` recorded in aligner.json; fp32 for test models and Optimum exports. */
export function folderDtype(dir: string): WeightDtype {
  const path = join(dir, 'aligner.json');
  const dtype = existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as { dtype?: WeightDtype }).dtype
    : undefined;
  return dtype ?? 'fp32';
}

export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('models/default', REPO_ROOT));

export async function runDecodeSection(bench: Bench): Promise<ModelDecode[]> {
  const out: ModelDecode[] = [];
  for (const name of bench.settings.models) {
    const { variants, parameters } = await presetVariants(bench, name);
    out.push(await measureModel(bench, `llama-${name}`, variants, parameters));
  }
  if (existsSync(DEFAULT_MODEL_DIR)) {
    // Its layout is found when it is opened; a fast folder says its dtype in aligner.json (convert writes it).
    const dtype = folderDtype(DEFAULT_MODEL_DIR);
    out.push(await measureModel(bench, 'default', [{ layout: 'optimum', dtype, dir: DEFAULT_MODEL_DIR }], null));
  } else {
    bench.log(`no ${DEFAULT_MODEL_DIR} (it ships in the repository); default model skipped`);
  }
  return out;
}

// ---- tables

const cellsOf = (m: ModelDecode, pred: (c: DecodeCell) => boolean) => m.cells.filter(pred);
const params = (m: ModelDecode) => (m.parameters === null ? m.model : `${m.model} (${fmt(m.parameters / 1e6)}M)`);

export function renderDecode(bench: Bench, models: ModelDecode[]): void {
  const s = bench.settings;
  const [b1, bN] = [Math.min(...s.batches), Math.max(...s.batches)];
  const rows: Cell[][] = [];
  for (const m of models) {
    for (const v of m.variants) {
      for (const context of s.contexts) {
        const one = m.cells.find(
          (c) => c.layout === v.layout && c.dtype === v.dtype && c.context === context && c.rows === b1,
        );
        const many = m.cells.find(
          (c) => c.layout === v.layout && c.dtype === v.dtype && c.context === context && c.rows === bN,
        );
        const ms = (c?: DecodeCell) => (c?.skipped ? c.skipped.replace(/ \(.*/, '') : fmt(c?.msPerStep, 2));
        const tps = (c?: DecodeCell) => (c?.skipped ? '—' : fmt(c?.tokensPerSecond, 0));
        const load = [one, many].map((c) => c?.otherLoadCores ?? null).filter((x) => x !== null) as number[];
        rows.push([
          params(m),
          variantName(v),
          context,
          ms(one),
          tps(one),
          ms(many),
          tps(many),
          fmt(many?.joinMs, 0),
          `${one?.steps ?? 0}/${many?.steps ?? 0}`,
          load.length ? others(Math.max(...load)) : 'n/a',
        ]);
      }
    }
  }
  bench.report.table(
    '1. Decode speed through the engine KV backends',
    [
      'model',
      'layout dtype',
      'ctx',
      `B${b1} ms/token`,
      `B${b1} tok/s`,
      `B${bN} ms/step`,
      `B${bN} tok/s`,
      `B${bN} join ms`,
      'steps',
      'others (cores)',
    ],
    rows,
    [
      `FastBackend / OptimumBackend.decode() as the Scheduler calls it, ${s.threads} threads, one token per row per step; ` +
        `ms = median over the timed steps (after 1 warm-up step; steps = timed steps at B${b1}/B${bN}, as many as fit ` +
        `${s.stepBudgetMs} ms, ${s.minSteps}..${s.maxSteps}). tok/s = rows x 1000 / ms.`,
      `Cache: each row holds ctx positions when decoding starts; one row is prefilled for real through the engine ` +
        `(extend() in 256-token chunks, ${models[0]?.seed.prefilled ?? '?'} positions), the rest of the context repeats ` +
        'those keys/values (decode cost does not depend on their values), and every row starts from a copy of it.',
      `join ms: setBatch() with all B${bN} rows joining (allocating the batch cache and copying the rows in).`,
      'skipped: the Optimum layout past ~1.3 GB of cache (it returns and copies the whole cache every step).',
      "others: cores' worth of CPU other processes used meanwhile (this machine is shared; the max of the two cells).",
    ],
  );
}

export function renderBound(bench: Bench, models: ModelDecode[], bandwidthGBs: number): void {
  const rows: Cell[][] = [];
  const b1 = Math.min(...bench.settings.batches);
  for (const m of models) {
    for (const c of cellsOf(m, (c) => c.rows === b1 && !c.skipped)) {
      const weights = weightBytesPerToken(m.shape, c.dtype);
      const kv = kvBytesPerPosition(m.shape) * c.context;
      const boundMs = (weights / (bandwidthGBs * 1e9)) * 1e3;
      const boundKvMs = ((weights + kv) / (bandwidthGBs * 1e9)) * 1e3;
      rows.push([
        params(m),
        variantName(c),
        c.context,
        fmt(c.msPerStep, 2),
        fmt(weights / 1e6),
        fmt(boundMs, 2),
        `${fmt((boundMs / c.msPerStep!) * 100, 0)} %`,
        fmt(kv / 1e6),
        fmt(boundKvMs, 2),
        `${fmt((boundKvMs / c.msPerStep!) * 100, 0)} %`,
      ]);
    }
  }
  bench.report.table(
    `2. Batch-1 decode against the memory-bandwidth bound (${fmt(bandwidthGBs)} GB/s)`,
    [
      'model',
      'layout dtype',
      'ctx',
      'ms/token',
      'weights MB/token',
      'bound ms',
      'bound/measured',
      'KV MB/token',
      'bound ms incl. KV',
      'incl. KV/measured',
    ],
    rows,
    [
      'bound = bytes read per token / bandwidth (the best copy bandwidth of the run, bench/lib/bandwidth.ts). ' +
        'Weights counted: all linear layers incl. lm_head in their stored encoding (fp32 4 B/param; MatMulNBits: ' +
        'bits/8 B per weight + a 4-byte fp32 scale per block of 32), the norms, one embedding row; not the embedding table.',
      'KV: the cache read per token at that context, 2 x layers x kv_heads x head_dim x 4 B x ctx; the fast graph reads ' +
        'the whole capacity (ctx rounded up to 64) and the Optimum graph also copies it, so neither reaches this bound.',
    ],
  );
}

export function renderBatchScaling(bench: Bench, models: ModelDecode[], context = 1024): void {
  const [b1, bN] = [Math.min(...bench.settings.batches), Math.max(...bench.settings.batches)];
  const rows: Cell[][] = [];
  for (const m of models) {
    for (const v of m.variants.filter((v) => v.layout === 'fast')) {
      const at = (rows: number) =>
        m.cells.find((c) => c.layout === v.layout && c.dtype === v.dtype && c.context === context && c.rows === rows);
      const [one, many] = [at(b1), at(bN)];
      if (!one?.tokensPerSecond || !many?.tokensPerSecond) continue;
      // Both batches stream the weights once per step, but each row reads its own KV cache: at the
      // memory bound, B rows cost (weights + B x kv) against (weights + kv) for one.
      const weights = weightBytesPerToken(m.shape, v.dtype);
      const kv = kvBytesPerPosition(m.shape) * context;
      const ceiling = (bN * (weights + kv)) / (weights + bN * kv);
      const ratio = many.tokensPerSecond / one.tokensPerSecond;
      rows.push([
        params(m),
        variantName(v),
        fmt(one.tokensPerSecond, 0),
        fmt(many.tokensPerSecond, 0),
        `${fmt(ratio, 2)}x`,
        `${fmt(ceiling, 2)}x`,
        `${fmt((ratio / ceiling) * 100, 0)} %`,
      ]);
    }
  }
  if (!rows.length) return bench.report.note(`3. Batch ${bN} vs batch ${b1}`, `no ctx ${context} measurements`);
  bench.report.table(
    `3. Batch ${bN} vs batch ${b1} throughput at ctx ${context}, fast layout`,
    ['model', 'layout dtype', `B${b1} tok/s`, `B${bN} tok/s`, `B${bN}/B${b1}`, 'memory-bound ceiling', 'of ceiling'],
    rows,
    [
      'From the section 1 measurements (same run, side by side).',
      `memory-bound ceiling: the ratio if both steps ran at full bandwidth, ${bN} x (W + KV) / (W + ${bN} x KV), with ` +
        `W the weight bytes and KV one row's cache bytes at ctx ${context} (section 2). A model without grouped-query ` +
        'attention holds a large cache per row, which caps what batching can give. It binds where steps are ' +
        'memory-bound (fp32 100M/500M); small or quantized models spend their batch-1 step on per-op overhead and can exceed it.',
    ],
  );
}

export function renderKvBytes(bench: Bench, models: ModelDecode[]): void {
  const rows: Cell[][] = [];
  for (const m of models) {
    const fast = m.cells
      .filter((c) => c.layout === 'fast' && c.kvBytes && c.kvPositions)
      .sort((a, b) => b.rows * b.context - a.rows * a.context)[0];
    if (!fast) continue;
    const formula = kvBytesPerPosition(m.shape);
    const perPosition = fast.kvBytes! / fast.kvPositions!;
    const cached = fast.rows * (fast.context + 1);
    rows.push([
      params(m),
      `${m.shape.layers} x ${m.shape.kvHeads} x ${m.shape.headDim}`,
      formula,
      fmt(perPosition, 0),
      `${fast.rows} x ${fast.context}`,
      fmt(fast.kvBytes! / 2 ** 20, 0),
      `${fmt(fast.kvBytes! / (cached * formula), 3)}x`,
    ]);
  }
  bench.report.table(
    '7b. KV cache bytes per token, fast layout',
    [
      'model',
      'layers x kv_heads x head_dim',
      'formula B/token',
      'measured B/position',
      'batch x ctx',
      'allocated MiB',
      'allocated/needed',
    ],
    rows,
    [
      "formula = 2 x layers x kv_heads x head_dim x 4 B; measured = the FastBackend batch buffers' byteLength / " +
        '(rows x capacity), from the largest measured fast cell; allocated/needed: capacity grows in steps of 64 ' +
        'positions (ctx + 1 cached positions after the first step).',
    ],
  );
}
