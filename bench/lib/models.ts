// The random-weight llama test models the benchmark runs, written once to a cache folder and reused.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TEST_MODEL_PRESETS,
  countParameters,
  resolveDims,
  writeTestModel,
} from '../../server/testmodel/writeTestModel.js';

export type PresetName = '17m' | '100m';

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

export const MODEL_CACHE_DIR = join(tmpdir(), 'aligner-bench-models');

export async function ensureModel(name: PresetName): Promise<BenchModel> {
  const opts = { type: 'llama' as const, ...TEST_MODEL_PRESETS[name] };
  const dir = join(MODEL_CACHE_DIR, `llama-${name}`);
  const parameters = countParameters(resolveDims(opts));
  const stamp = join(dir, 'bench-stamp.json');
  const wanted = JSON.stringify(opts);
  // The stamp is written last, so a folder from an interrupted or different write is rewritten.
  const reuse = existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted;
  const t0 = performance.now();
  if (!reuse) {
    await writeTestModel({ ...opts, outDir: dir });
    writeFileSync(stamp, wanted);
  }
  return { name, dir, parameters, weightBytes: parameters * 4, written: !reuse, writeMs: performance.now() - t0 };
}
