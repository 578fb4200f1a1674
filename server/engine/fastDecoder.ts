// One ONNX decoder session in the project's fast layout (written by `aligner convert --layout fast`):
//   inputs  input_ids [B,S] i64, position_ids [B,S] i64, past_bias [B,1,1,C] f32,
//           past_key_values.{i}.key/value [B,Hkv,C,D] f32 — read-only, owned by the engine, zero-copy,
//           logits_start [1] i64 (graph revision 4 on; older fast graphs return every position's logits)
//   outputs logits [B,S-logits_start,V] f32, new.{i}.key/value [B,Hkv,S,D] f32 — only the new tokens' K/V
import * as ort from 'onnxruntime-node';
import type { ModelSpec } from './modelFolder.js';
import { createSession } from './session.js';
import type { SessionOptions } from './session.js';

/** float32 lowest: masks a past position without making a fully masked row NaN. */
export const MASKED = -3.4028234663852886e38;

export interface FastStepInput {
  batch: number;
  inputIds: BigInt64Array;
  positionIds: BigInt64Array;
  /** [batch, capacity]: 0 where the past position is valid, MASKED where not */
  pastBias: Float32Array;
  capacity: number;
  /** per layer, each [batch, kvHeads, capacity, headDim] (views of the engine's buffers) */
  pastKeys: Float32Array[];
  pastValues: Float32Array[];
  /** First new token whose logits are wanted (default 0: all); a graph without logits_start gives all. */
  logitsStart?: number;
}

export interface FastStepOutput {
  /** [batch, seq - logitsStart, vocab] */
  logits: Float32Array;
  /** The first new token that `logits` covers: the asked logitsStart, or 0 where the graph has no such input. */
  logitsStart: number;
  /** per layer, [batch, kvHeads, seq, headDim] */
  newKeys: Float32Array[];
  newValues: Float32Array[];
}

export class FastDecoder {
  /** Whether the graph takes logits_start (converted by FAST_GRAPH_REVISION 4 or later). */
  readonly slicesLogits: boolean;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: ModelSpec,
  ) {
    this.slicesLogits = session.inputNames.includes('logits_start');
  }

  static async open(spec: ModelSpec, opts: SessionOptions): Promise<FastDecoder> {
    return FastDecoder.fromSession(await createSession(spec.onnxPath, opts), spec);
  }

  static async fromSession(session: ort.InferenceSession, spec: ModelSpec): Promise<FastDecoder> {
    const outputs = new Set(session.outputNames);
    for (let i = 0; i < spec.layers; i++) {
      if (!outputs.has(`new.${i}.key`) || !outputs.has(`new.${i}.value`)) {
        await session.release();
        throw new Error(
          `${spec.onnxPath}: output new.${i}.key/value is missing; not a fast-layout graph for ${spec.layers} layers`,
        );
      }
    }
    return new FastDecoder(session, spec);
  }

  async step(input: FastStepInput): Promise<FastStepOutput> {
    const { batch, capacity } = input;
    const seq = input.inputIds.length / batch;
    const { kvHeads, headDim } = this.spec;
    const cacheDims = [batch, kvHeads, capacity, headDim];
    const cacheSize = batch * kvHeads * capacity * headDim;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', input.inputIds, [batch, seq]),
      position_ids: new ort.Tensor('int64', input.positionIds, [batch, seq]),
      past_bias: new ort.Tensor('float32', input.pastBias, [batch, 1, 1, capacity]),
    };
    const logitsStart = this.slicesLogits ? Math.min(Math.max(input.logitsStart ?? 0, 0), seq - 1) : 0;
    if (this.slicesLogits) feeds.logits_start = new ort.Tensor('int64', BigInt64Array.of(BigInt(logitsStart)), [1]);
    for (let i = 0; i < this.spec.layers; i++) {
      feeds[`past_key_values.${i}.key`] = new ort.Tensor(
        'float32',
        input.pastKeys[i]!.subarray(0, cacheSize),
        cacheDims,
      );
      feeds[`past_key_values.${i}.value`] = new ort.Tensor(
        'float32',
        input.pastValues[i]!.subarray(0, cacheSize),
        cacheDims,
      );
    }
    const out = await this.session.run(feeds);
    const newKeys: Float32Array[] = [];
    const newValues: Float32Array[] = [];
    for (let i = 0; i < this.spec.layers; i++) {
      newKeys.push(out[`new.${i}.key`]!.data as Float32Array);
      newValues.push(out[`new.${i}.value`]!.data as Float32Array);
    }
    return { logits: out.logits!.data as Float32Array, logitsStart, newKeys, newValues };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}
