// Next-token choice in Hugging Face's order: repetition penalty (and the loop guard), temperature,
// top-k, top-p.
import type { GenerationOptions } from '../protocol/index.js';

export interface SamplingConfig {
  temperature: number;
  topP: number;
  topK: number;
  repetitionPenalty: number;
  /** n-gram size of the loop guard (loopGuard.ts); 0 = off. */
  loopGuard: number;
}

export function samplingConfig(g: GenerationOptions): SamplingConfig {
  return {
    temperature: g.temperature ?? 0,
    topP: g.topP ?? 1,
    topK: g.topK ?? 0,
    repetitionPenalty: g.repetitionPenalty ?? 1,
    loopGuard: g.loopGuard ?? 0,
  };
}

/** HF's RepetitionPenaltyLogitsProcessor: divides positive, multiplies negative scores of seen tokens. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of seen) {
    const v = logits[id]!;
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
}

/** First index of the maximum, like torch.argmax. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * The distribution sampling draws from: softmax(logits / T) restricted to the top-k and then the
 * top-p nucleus, normalized. Candidates whose logit is more than 40 T below the best are dropped
 * before sorting: their probability is below e^-40 of the best, under float32 resolution of the sum.
 */
export function nucleus(logits: Float32Array, cfg: SamplingConfig): { ids: number[]; probs: Float64Array } {
  const invT = 1 / cfg.temperature;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  const floor = max - 40 * cfg.temperature;
  const ids: number[] = [];
  for (let i = 0; i < logits.length; i++) if (logits[i]! >= floor) ids.push(i);
  ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
  const k = cfg.topK > 0 ? Math.min(cfg.topK, ids.length) : ids.length;
  const probs = new Float64Array(k);
  let sum = 0;
  for (let j = 0; j < k; j++) {
    probs[j] = Math.exp((logits[ids[j]!]! - max) * invT);
    sum += probs[j]!;
  }
  // Nucleus: the smallest prefix whose mass reaches top_p (always at least one token).
  let keep = k;
  if (cfg.topP < 1) {
    let acc = 0;
    for (let j = 0; j < k; j++) {
      acc += probs[j]! / sum;
      if (acc >= cfg.topP) {
        keep = j + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let j = 0; j < keep; j++) kept += probs[j]!;
  const out = new Float64Array(keep);
  for (let j = 0; j < keep; j++) out[j] = probs[j]! / kept;
  return { ids: ids.slice(0, keep), probs: out };
}

/** Greedy at temperature 0, else one draw from nucleus(). */
export function sampleToken(logits: Float32Array, cfg: SamplingConfig, random: () => number): number {
  if (cfg.temperature <= 0) return argmax(logits);
  const { ids, probs } = nucleus(logits, cfg);
  let r = random();
  for (let j = 0; j < ids.length; j++) {
    r -= probs[j]!;
    if (r <= 0) return ids[j]!;
  }
  return ids[ids.length - 1]!;
}

/**
 * Verifies one draft token against the model's distribution (speculative sampling with a
 * deterministic draft): greedy accepts iff the draft is the argmax; sampling accepts with the
 * draft's probability p(x) and otherwise samples from p with x removed, which leaves the output
 * distribution exactly p.
 */
export function verifyDraftToken(
  logits: Float32Array,
  draft: number,
  cfg: SamplingConfig,
  random: () => number,
): { token: number; accepted: boolean } {
  if (cfg.temperature <= 0) {
    const token = argmax(logits);
    return { token, accepted: token === draft };
  }
  const { ids, probs } = nucleus(logits, cfg);
  const at = ids.indexOf(draft);
  if (at !== -1 && random() < probs[at]!) return { token: draft, accepted: true };
  let rest = 0;
  for (let j = 0; j < ids.length; j++) if (j !== at) rest += probs[j]!;
  if (rest <= 0) return { token: draft, accepted: true };
  let r = random() * rest;
  for (let j = 0; j < ids.length; j++) {
    if (j === at) continue;
    r -= probs[j]!;
    if (r <= 0) return { token: ids[j]!, accepted: false };
  }
  return { token: ids[at === ids.length - 1 ? ids.length - 2 : ids.length - 1]!, accepted: false };
}
