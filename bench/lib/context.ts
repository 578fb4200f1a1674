// What every section of `npm run bench` shares: settings, the log, the load meter and the report.
import { LoadMeter } from './load.js';
import { Report } from './report.js';
import type { PresetName } from './models.js';

export interface BenchSettings {
  quick: boolean;
  threads: number;
  /** Section 1: models, contexts, batch sizes, and the step budget per measurement. */
  models: PresetName[];
  contexts: number[];
  batches: number[];
  stepBudgetMs: number;
  minSteps: number;
  maxSteps: number;
  /** Positions of the cache seed that are really prefilled (the rest repeat them). */
  seedPrefill: number;
  /** Section 4. */
  e2eModels: PresetName[];
  e2ePromptTokens: number;
  e2eNewTokens: number;
  /** Rounds of every runner (odd: each row reports the median round). */
  e2eRounds: number;
  /** Section 5: rows per group, new tokens per row, draft widths for the verify bound, its model. */
  specRowsPerGroup: number;
  specNewTokens: number;
  verifyDrafts: number[];
  verifyModel: PresetName;
  verifyContext: number;
  /** Section 6. */
  transportReps: number;
  /** Memory bandwidth measurement. */
  bandwidthMiB: number;
  bandwidthReps: number;
}

export class Bench {
  readonly started = performance.now();
  readonly load = new LoadMeter();
  readonly report = new Report();

  constructor(readonly settings: BenchSettings) {}

  log(msg: string): void {
    console.log(`[${((performance.now() - this.started) / 1000).toFixed(1)} s] ${msg}`);
  }

  /** Runs `fn` and says how many cores' worth of CPU other processes took meanwhile. */
  async withLoad<T>(fn: () => T | Promise<T>): Promise<[T, number | null]> {
    this.load.lap();
    const value = await fn();
    return [value, this.load.lap()];
  }
}

const fromSource = import.meta.url.endsWith('.ts'); // under tsx; compiled, this file is in dist/bench/lib

/** The repository root (for models/default and .bench-deps). */
export const REPO_ROOT = new URL(fromSource ? '../../' : '../../../', import.meta.url);
