// The engine's cache handling (chunked prefill, decode steps, re-packing rows into a left-padded
// batch) must give the same logits as one full forward pass over the whole sequence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readModelFolder } from '../../../server/engine/modelFolder.js';
import { OnnxDecoder } from '../../../server/engine/onnxDecoder.js';
import type { LayerCache } from '../../../server/engine/onnxDecoder.js';
import { packRows } from '../../../server/engine/kv/optimumPacking.js';
import { MODEL_TYPES, testModel } from '../../helpers/testModels.js';

const ids = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 5 + ((i * 37 + seed * 11) % 200));
const i64 = (xs: number[]) => BigInt64Array.from(xs, BigInt);

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function fullForwardLastLogits(d: OnnxDecoder, seq: number[]): Promise<Float32Array> {
  const out = await d.step({
    batch: 1,
    inputIds: i64(seq),
    attentionMask: new BigInt64Array(seq.length).fill(1n),
    positionIds: i64(seq.map((_, i) => i)),
    past: d.emptyCache(1),
    pastLength: 0,
  });
  const v = d.spec.vocabSize;
  return out.logits.slice((seq.length - 1) * v, seq.length * v);
}

/** Prefill in chunks of `chunk`, then one token per step; returns the last logits and the cache. */
async function incremental(d: OnnxDecoder, seq: number[], prefill: number, chunk: number) {
  let past: LayerCache[] = d.emptyCache(1);
  let logits = new Float32Array();
  const v = d.spec.vocabSize;
  for (let pos = 0; pos < seq.length;) {
    const n = pos < prefill ? Math.min(chunk, prefill - pos) : 1;
    const part = seq.slice(pos, pos + n);
    const out = await d.step({
      batch: 1,
      inputIds: i64(part),
      attentionMask: new BigInt64Array(pos + n).fill(1n),
      positionIds: i64(part.map((_, i) => pos + i)),
      past,
      pastLength: pos,
    });
    past = out.present;
    logits = out.logits.slice((n - 1) * v, n * v);
    pos += n;
  }
  return { logits, past };
}

for (const type of MODEL_TYPES) {
  test(`${type}: KV-cache decoding equals a full forward pass (last-token logits within 1e-4)`, async () => {
    const spec = readModelFolder(await testModel(type));
    const d = await OnnxDecoder.open(spec, { executionProvider: 'cpu', threads: 1 });
    try {
      const seq = ids(40, 1);
      const full = await fullForwardLastLogits(d, seq);
      const inc = await incremental(d, seq, 23, 7);
      const diff = maxDiff(full, inc.logits);
      assert.ok(diff < 1e-4, `max |diff| ${diff}`);
    } finally {
      await d.close();
    }
  });

  test(`${type}: rows re-packed into a left-padded batch decode like each row alone`, async () => {
    const spec = readModelFolder(await testModel(type));
    const d = await OnnxDecoder.open(spec, { executionProvider: 'cpu', threads: 1 });
    try {
      const a = ids(30, 2);
      const b = ids(12, 3);
      const ca = await incremental(d, a, 30, 30);
      const cb = await incremental(d, b, 12, 12);
      const packed = packRows(
        [
          { cache: cb.past, row: 0, offset: 0, length: b.length },
          { cache: ca.past, row: 0, offset: 0, length: a.length },
        ],
        spec.layers,
        spec.kvHeads,
        spec.headDim,
      );
      const next = [7, 9];
      const total = packed.pastLength + 1;
      const mask = new BigInt64Array(2 * total).fill(1n);
      packed.pads.forEach((pad, r) => mask.fill(0n, r * total, r * total + pad));
      const out = await d.step({
        batch: 2,
        inputIds: i64(next),
        attentionMask: mask,
        positionIds: i64([b.length, a.length]),
        past: packed.past,
        pastLength: packed.pastLength,
      });
      const v = spec.vocabSize;
      const aloneB = await fullForwardLastLogits(d, [...b, 7]);
      const aloneA = await fullForwardLastLogits(d, [...a, 9]);
      assert.ok(maxDiff(out.logits.slice(0, v), aloneB) < 1e-4, 'short row');
      assert.ok(maxDiff(out.logits.slice(v, 2 * v), aloneA) < 1e-4, 'long row');
    } finally {
      await d.close();
    }
  });
}
