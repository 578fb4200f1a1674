// The random-weight llama test models the benchmarks run, written once to a cache folder and reused,
// and their conversions (`aligner convert`) to the fast layout and the quantized dtypes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { convertModel } from '../../server/convert/convertModel.js';
import type { ConvertDtype, ConvertLayout } from '../../server/convert/convertModel.js';
import { FAST_GRAPH_REVISION } from '../../server/convert/fastDecoderGraph.js';
import {
  TEST_MODEL_PRESETS,
  countParameters,
  resolveDims,
  writeTestModel,
} from '../../server/testmodel/writeTestModel.js';

export type PresetName = '17m' | '100m' | '500m';

export interface BenchModel {
  name: PresetName;
  dir: string;
  parameters: number;
  /** parameters x 4 (fp32). */
  weightBytes: number;
  /** True when this run wrote it; false when an earlier run's copy was reused. */
  written: boolean;
  writeMs: number;
}

export interface ModelOptions {
  /** max_position_embeddings (the presets' default is 2048); the folder name carries it. */
  maxPositions?: number;
}

export const MODEL_CACHE_DIR = join(tmpdir(), 'aligner-bench-models');

/** Runs `write` unless `dir` holds a stamp equal to `wanted` (written last, so a partial write is redone). */
async function cached(dir: string, wanted: string, write: () => Promise<unknown>): Promise<[boolean, number]> {
  const stamp = join(dir, 'bench-stamp.json');
  const t0 = performance.now();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return [false, 0];
  rmSync(stamp, { force: true });
  await write();
  writeFileSync(stamp, wanted);
  return [true, performance.now() - t0];
}

export async function ensureModel(name: PresetName, opts: ModelOptions = {}): Promise<BenchModel> {
  const modelOpts = { type: 'llama' as const, ...TEST_MODEL_PRESETS[name], ...opts };
  const suffix = opts.maxPositions ? `-pos${opts.maxPositions}` : '';
  const dir = join(MODEL_CACHE_DIR, `llama-${name}${suffix}`);
  const parameters = countParameters(resolveDims(modelOpts));
  const [written, writeMs] = await cached(dir, JSON.stringify(modelOpts), () =>
    writeTestModel({ ...modelOpts, outDir: dir }),
  );
  return { name, dir, parameters, weightBytes: parameters * 4, written, writeMs };
}

export interface ConvertedModel {
  dir: string;
  layout: ConvertLayout;
  dtype: ConvertDtype;
  written: boolean;
  writeMs: number;
}

/** `aligner convert` of a folder that carries model.safetensors (every test model does), cached in MODEL_CACHE_DIR. */
export async function ensureConverted(
  sourceDir: string,
  layout: ConvertLayout,
  dtype: ConvertDtype,
  /** int8 / int4 block size; the converter's default when absent. */
  blockSize?: number,
): Promise<ConvertedModel> {
  const source = resolve(sourceDir);
  const tag = createHash('sha256').update(source).digest('hex').slice(0, 8);
  const dir = join(
    MODEL_CACHE_DIR,
    `${basename(source)}-${tag}-${layout}-${dtype}${blockSize ? `-b${blockSize}` : ''}`,
  );
  // A bench model's stamp; for any other folder (e.g. a trained models/default), its weights' size and time.
  const stampPath = join(source, 'bench-stamp.json');
  const st = statSync(join(source, 'model.safetensors'));
  const sourceStamp = existsSync(stampPath) ? readFileSync(stampPath, 'utf8') : `${st.size}@${st.mtimeMs}`;
  const [written, writeMs] = await cached(
    dir,
    JSON.stringify({ sourceStamp, layout, dtype, blockSize, graph: FAST_GRAPH_REVISION }),
    () => convertModel({ from: sourceDir, out: dir, layout, dtype, ...(blockSize ? { blockSize } : {}) }),
  );
  return { dir, layout, dtype, written, writeMs };
}
