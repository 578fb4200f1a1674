// Prefill and decode timings straight through OnnxDecoder, fed the way the engine's Scheduler feeds it:
// prefill = one step over the prompt with an empty cache; decode = single-token steps with the
// previous step's `present` passed back as `past` and an all-ones attention mask of past + 1.
import { OnnxDecoder } from '../../server/engine/onnxDecoder.js';
import type { DecoderStepOutput, LayerCache } from '../../server/engine/onnxDecoder.js';
import type { ModelSpec } from '../../server/engine/modelFolder.js';
import { timeRuns } from './stats.js';

export const openDecoder = (spec: ModelSpec, threads: number) =>
  OnnxDecoder.open(spec, { executionProvider: 'cpu', threads });

/** Deterministic prompt ids that avoid the low (special) ids. */
const promptIds = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => 16 + ((i * 7919) % (vocab - 16)));

function argmaxLast(out: DecoderStepOutput, vocab: number): number {
  const from = out.logits.length - vocab;
  let best = from;
  for (let i = from + 1; i < out.logits.length; i++) if (out.logits[i]! > out.logits[best]!) best = i;
  return best - from;
}

function prefill(dec: OnnxDecoder, tokens: number): Promise<DecoderStepOutput> {
  const ids = promptIds(tokens, dec.spec.vocabSize);
  return dec.step({
    batch: 1,
    inputIds: BigInt64Array.from(ids, BigInt),
    attentionMask: new BigInt64Array(tokens).fill(1n),
    positionIds: BigInt64Array.from(ids, (_, i) => BigInt(i)),
    past: dec.emptyCache(1),
    pastLength: 0,
  });
}

/** Milliseconds of each of `runs` prefills of a `tokens`-long prompt in one step (one untimed warm-up). */
export const prefillRuns = (dec: OnnxDecoder, tokens: number, runs: number) =>
  timeRuns(runs, 1, () => prefill(dec, tokens));

/**
 * Pre-fills the cache to `context` tokens in one step, then times `steps` greedy single-token decode
 * steps (after `warmup` untimed ones); the context grows by one per step. Returns ms per step.
 */
export async function decodeRuns(dec: OnnxDecoder, context: number, steps: number, warmup = 2): Promise<number[]> {
  const vocab = dec.spec.vocabSize;
  let out = await prefill(dec, context);
  let past: LayerCache[] = out.present;
  let pastLength = context;
  const ms: number[] = [];
  for (let s = 0; s < warmup + steps; s++) {
    const next = argmaxLast(out, vocab);
    const t0 = performance.now();
    out = await dec.step({
      batch: 1,
      inputIds: BigInt64Array.of(BigInt(next)),
      attentionMask: new BigInt64Array(pastLength + 1).fill(1n),
      positionIds: BigInt64Array.of(BigInt(pastLength)),
      past,
      pastLength,
    });
    if (s >= warmup) ms.push(performance.now() - t0);
    past = out.present;
    pastLength++;
  }
  return ms;
}
