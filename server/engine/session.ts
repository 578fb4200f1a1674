// onnxruntime session options shared by both model layouts.
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../protocol/index.js';

export interface SessionOptions {
  executionProvider: ExecutionProvider;
  threads: number;
}

export function createSession(path: string, opts: SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, {
    executionProviders: [opts.executionProvider],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Spinning threads fight each other on small machines (measured: 2 threads slower than 1 with it on).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

/** Which layout a session's graph is in, from its input names. */
export function detectLayout(inputNames: readonly string[]): 'optimum' | 'fast' | null {
  const names = new Set(inputNames);
  if (names.has('past_bias') && names.has('past_key_values.0.key')) return 'fast';
  if (names.has('attention_mask') && names.has('past_key_values.0.key')) return 'optimum';
  return null;
}
