// Decode timings through the engine's own KV backends (FastBackend / OptimumBackend), driven the way
// the Scheduler drives them: rows join the decode batch with setBatch(), then backend.decode() runs
// one token per row per step. Only the cache fill is a shortcut: one row is prefilled for real
// (backend.extend in chunks, the engine's prefill path), and every row starts from a copy of it.
import * as ort from 'onnxruntime-node';
import { FastDecoder } from '../../server/engine/fastDecoder.js';
import { FastBackend } from '../../server/engine/kv/fastBackend.js';
import type { CacheSlot, KvBackend } from '../../server/engine/kv/backend.js';
import { KvBuffer } from '../../server/engine/kv/kvBuffer.js';
import { OptimumBackend } from '../../server/engine/kv/optimumBackend.js';
import type { LayerCache } from '../../server/engine/onnxDecoder.js';
import { OnnxDecoder } from '../../server/engine/onnxDecoder.js';
import { readModelFolder } from '../../server/engine/modelFolder.js';
import type { ModelSpec } from '../../server/engine/modelFolder.js';
import { createSession, detectLayout } from '../../server/engine/session.js';

export interface OpenBackend {
  backend: KvBackend;
  spec: ModelSpec;
  loadMs: number;
}

/** Opens a model folder's graph with the backend its layout needs, as Engine.loadModel does. */
export async function openBackend(dir: string, threads: number): Promise<OpenBackend> {
  const t0 = performance.now();
  const spec = readModelFolder(dir);
  const session = await createSession(spec.onnxPath, { executionProvider: 'cpu', threads });
  const layout = detectLayout(session.inputNames);
  const backend =
    layout === 'fast'
      ? new FastBackend(await FastDecoder.fromSession(session, spec))
      : new OptimumBackend(await OnnxDecoder.fromSession(session, spec));
  return { backend, spec, loadMs: performance.now() - t0 };
}

/** Deterministic prompt ids that avoid the low (special) ids. */
export const promptIds = (n: number, vocab: number, from = 0) =>
  Array.from({ length: n }, (_, i) => 16 + (((from + i) * 7919) % (vocab - 16)));

/**
 * One row's cache: a [1, kvHeads, capacity, headDim] KvBuffer per layer. Its first `prefilled`
 * positions come from real prefill chunks through a fast-layout backend (the engine's extend()); up
 * to `length` they are repeated, since prefilling 4096 tokens of a 500M model would take minutes
 * here and decode cost does not depend on the cached values. For the same reason one seed (from the
 * model's fp32 fast graph) serves every dtype and layout of the model.
 */
export interface CacheSeed {
  buffer: KvBuffer;
  length: number;
  prefilled: number;
  prefillMs: number;
}

export async function prefillSeed(
  backend: KvBackend,
  spec: ModelSpec,
  prefilled: number,
  length: number,
  chunk = 256,
): Promise<CacheSeed> {
  const slot = backend.createSlot();
  const ids = promptIds(prefilled, backend.vocabSize);
  const t0 = performance.now();
  for (let at = 0; at < prefilled; at += chunk) await backend.extend(slot, ids.slice(at, at + chunk));
  const prefillMs = performance.now() - t0;
  // The engine keeps a prefilled slot's cache in its own buffer until the slot joins the batch.
  const own = (slot as unknown as { own: KvBuffer | LayerCache[] }).own;
  const buffer = own instanceof KvBuffer ? own : kvBufferFrom(own, spec, prefilled);
  buffer.ensure(1, length, [prefilled]);
  const { kvHeads, headDim } = buffer.shape;
  for (const layer of [...buffer.keys, ...buffer.values]) {
    for (let h = 0; h < kvHeads; h++) {
      const row = h * buffer.capacity * headDim;
      for (let at = prefilled; at < length; at += prefilled) {
        const n = Math.min(prefilled, length - at);
        layer.copyWithin(row + at * headDim, row, row + n * headDim);
      }
    }
  }
  return { buffer, length, prefilled, prefillMs };
}

/** A KvBuffer holding an Optimum slot's [1, kvHeads, length, headDim] cache. */
function kvBufferFrom(cache: LayerCache[], spec: ModelSpec, length: number): KvBuffer {
  const buffer = new KvBuffer(spec);
  buffer.ensure(1, length, []);
  const { kvHeads, headDim } = spec;
  const put = (src: ort.Tensor, dst: Float32Array) => {
    const data = src.data as Float32Array;
    for (let h = 0; h < kvHeads; h++)
      dst.set(data.subarray(h * length * headDim, (h + 1) * length * headDim), h * buffer.capacity * headDim);
  };
  cache.forEach((layer, l) => {
    put(layer.key, buffer.keys[l]!);
    put(layer.value, buffer.values[l]!);
  });
  return buffer;
}

/** [1, kvHeads, length, headDim] ort tensors (the Optimum backend's per-slot cache) from a seed. */
function optimumCache(seed: CacheSeed, length: number): LayerCache[] {
  const { layers, kvHeads, headDim } = seed.buffer.shape;
  const cap = seed.buffer.capacity;
  const take = (src: Float32Array) => {
    const dst = new Float32Array(kvHeads * length * headDim);
    for (let h = 0; h < kvHeads; h++)
      dst.set(src.subarray(h * cap * headDim, (h * cap + length) * headDim), h * length * headDim);
    return new ort.Tensor('float32', dst, [1, kvHeads, length, headDim]);
  };
  return Array.from({ length: layers }, (_, l) => ({
    key: take(seed.buffer.keys[l]!),
    value: take(seed.buffer.values[l]!),
  }));
}

/**
 * `rows` slots holding `context` prefilled positions each, as if each had been prefilled by
 * extend(): the slot's private `own` cache is set to the seed (both backends copy from it in
 * setBatch and never write to it).
 */
export function seededSlots(backend: KvBackend, seed: CacheSeed, rows: number, context: number): CacheSlot[] {
  if (context > seed.length) throw new Error(`the seed holds ${seed.length} positions, not ${context}`);
  const own = backend.layout === 'fast' ? seed.buffer : optimumCache(seed, context);
  return Array.from({ length: rows }, () => {
    const slot = backend.createSlot();
    (slot as unknown as { own: unknown }).own = own;
    slot.length = context;
    return slot;
  });
}

function argmaxRows(logits: Float32Array, rows: number, vocab: number): number[] {
  const stride = logits.length / rows; // [rows, count, vocab]: take each row's last position
  return Array.from({ length: rows }, (_, r) => {
    const from = r * stride + stride - vocab;
    let best = from;
    for (let i = from + 1; i < from + vocab; i++) if (logits[i]! > logits[best]!) best = i;
    return best - from;
  });
}

export interface DecodeTiming {
  /** ms of each timed backend.decode() step. */
  stepMs: number[];
  /** ms of setBatch() (rows joining: copies of their caches into the batch). */
  joinMs: number;
  /** KV bytes allocated by the fast backend's batch buffer (0 for Optimum) and the positions they hold. */
  kvBytes: number;
  kvPositions: number;
}

/**
 * Joins `slots` into the decode batch, runs one untimed warm-up step, then greedy decode steps (one
 * token per row) until `budgetMs` is spent: at least `minSteps`, at most `maxSteps`. Leaves the batch empty.
 */
export async function timeDecode(
  backend: KvBackend,
  slots: CacheSlot[],
  { budgetMs, minSteps, maxSteps }: { budgetMs: number; minSteps: number; maxSteps: number },
): Promise<DecodeTiming> {
  const t0 = performance.now();
  backend.setBatch(slots);
  const joinMs = performance.now() - t0;
  let tokens = slots.map((_, r) => [100 + r]);
  let logits = await backend.decode(tokens);
  const { kvBytes, kvPositions } = kvAllocation(backend, slots.length);
  const stepMs: number[] = [];
  const started = performance.now();
  while (stepMs.length < maxSteps && (stepMs.length < minSteps || performance.now() - started < budgetMs)) {
    tokens = argmaxRows(logits, slots.length, backend.vocabSize).map((t) => [t]);
    const s0 = performance.now();
    logits = await backend.decode(tokens);
    stepMs.push(performance.now() - s0);
  }
  backend.setBatch([]);
  for (const s of slots) backend.release(s);
  return { stepMs, joinMs, kvBytes, kvPositions };
}

/** The fast backend's batch KvBuffer: bytes allocated and rows x capacity positions. */
function kvAllocation(backend: KvBackend, rows: number): { kvBytes: number; kvPositions: number } {
  if (backend.layout !== 'fast') return { kvBytes: 0, kvPositions: 0 };
  const buf = (backend as unknown as { batch: KvBuffer }).batch;
  const bytes = [...buf.keys, ...buf.values].reduce((a, t) => a + t.byteLength, 0);
  return { kvBytes: bytes, kvPositions: Math.min(rows, buf.rows) * buf.capacity };
}
