// onnxruntime session options shared by both model layouts.
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../protocol/index.js';

export interface SessionOptions {
  executionProvider: ExecutionProvider;
  threads: number;
}

/** Set to 0 to keep onnxruntime's idle intra-op threads from spinning (spares cores; decodes slower). */
export const SPINNING_SWITCH = 'ALIGNER_SPINNING';

/**
 * Whether intra-op threads spin between ops instead of sleeping. On by default: decode launches a
 * few hundred small ops per token, and waking a sleeping thread for each cost more than the spin
 * (bench/results/settings.md, 2 cores, batch 1, spinning alone: the default model 1.96 -> 1.10 ms per
 * token, 100M int4 7.97 -> 6.61 ms, 100M fp32 and batch 16 1-7% faster).
 */
export function spinningEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[SPINNING_SWITCH] !== '0';
}

export function createSession(path: string, opts: SessionOptions): Promise<ort.InferenceSession> {
  const spin = spinningEnabled() ? '1' : '0';
  return ort.InferenceSession.create(path, {
    executionProviders: [opts.executionProvider],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  });
}

/** Which layout a session's graph is in, from its input names. */
export function detectLayout(inputNames: readonly string[]): 'optimum' | 'fast' | null {
  const names = new Set(inputNames);
  if (names.has('past_bias') && names.has('past_key_values.0.key')) return 'fast';
  if (names.has('attention_mask') && names.has('past_key_values.0.key')) return 'optimum';
  return null;
}
