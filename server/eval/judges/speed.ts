// Always on: per-row latency and throughput. Kept apart from the other judges because it is the
// only one that differs between two runs over the same rows.
import { quantile } from '../metrics/bootstrap.js';
import type { Judge } from './types.js';

export type SpeedFields = {
  latencyMs: number;
  completionTokens: number;
  /** Completion tokens over the whole correct() call, queueing and prefill included. */
  tokensPerSecond: number;
  /** The engine's decode-only speed. */
  decodeTokensPerSecond: number;
};

export const speedJudge: Judge<SpeedFields> = {
  name: 'speed',
  description: 'latency and tokens/s per row (always on)',
  applies: () => true,
  async judge(_row, c) {
    return {
      latencyMs: c.latencyMs,
      completionTokens: c.completionTokens,
      tokensPerSecond: c.latencyMs > 0 ? c.completionTokens / (c.latencyMs / 1000) : 0,
      decodeTokensPerSecond: c.decodeTokensPerSecond,
    };
  },
  summarize(fields, stat) {
    const latencies = fields.map((f) => f.latencyMs).sort((a, b) => a - b);
    return {
      n: fields.length,
      latencyMs: stat(latencies),
      latencyP50Ms: latencies.length ? quantile(latencies, 0.5) : null,
      latencyP90Ms: latencies.length ? quantile(latencies, 0.9) : null,
      tokensPerSecond: stat(fields.map((f) => f.tokensPerSecond)),
      decodeTokensPerSecond: stat(fields.map((f) => f.decodeTokensPerSecond)),
      completionTokens: stat(fields.map((f) => f.completionTokens)),
    };
  },
};
