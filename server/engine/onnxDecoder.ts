// One ONNX decoder session in the Optimum layout: inputs input_ids, attention_mask, position_ids,
// past_key_values.{i}.key/value; outputs logits and present.{i}.key/value (= past + new).
import * as ort from 'onnxruntime-node';
import { createSession } from './session.js';
import type { SessionOptions } from './session.js';
import type { ModelSpec } from './modelFolder.js';

/** The key/value cache of one layer for a whole batch: [batch, kvHeads, length, headDim]. */
export interface LayerCache {
  key: ort.Tensor;
  value: ort.Tensor;
}

export interface DecoderStepInput {
  batch: number;
  /** [batch, seq] */
  inputIds: BigInt64Array;
  /** [batch, past + seq]; 0 marks padding */
  attentionMask: BigInt64Array;
  /** [batch, seq] */
  positionIds: BigInt64Array;
  /** one per layer; length 0 for an empty cache */
  past: LayerCache[];
  pastLength: number;
}

export interface DecoderStepOutput {
  /** [batch, seq, vocab] */
  logits: Float32Array;
  present: LayerCache[];
}

export type DecoderOptions = SessionOptions;

export class OnnxDecoder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: ModelSpec,
    private readonly hasPositionIds: boolean,
    private readonly hasCacheBranch: boolean,
  ) {}

  static async open(spec: ModelSpec, opts: DecoderOptions): Promise<OnnxDecoder> {
    return OnnxDecoder.fromSession(await createSession(spec.onnxPath, opts), spec);
  }

  static async fromSession(session: ort.InferenceSession, spec: ModelSpec): Promise<OnnxDecoder> {
    const inputs = new Set(session.inputNames);
    for (const name of ['input_ids', 'attention_mask', 'past_key_values.0.key']) {
      if (!inputs.has(name)) {
        await session.release();
        throw new Error(
          `${spec.onnxPath}: input "${name}" is missing; expected the Optimum decoder layout with KV cache (inputs: ${session.inputNames.join(', ')})`,
        );
      }
    }
    const layersInGraph = session.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
    if (layersInGraph !== spec.layers) {
      await session.release();
      throw new Error(`${spec.onnxPath} has ${layersInGraph} cache layers but config.json says ${spec.layers}`);
    }
    return new OnnxDecoder(session, spec, inputs.has('position_ids'), inputs.has('use_cache_branch'));
  }

  emptyCache(batch: number): LayerCache[] {
    const dims = [batch, this.spec.kvHeads, 0, this.spec.headDim];
    return Array.from({ length: this.spec.layers }, () => ({
      key: new ort.Tensor('float32', new Float32Array(0), dims),
      value: new ort.Tensor('float32', new Float32Array(0), dims),
    }));
  }

  async step(input: DecoderStepInput): Promise<DecoderStepOutput> {
    const seq = input.inputIds.length / input.batch;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', input.inputIds, [input.batch, seq]),
      attention_mask: new ort.Tensor('int64', input.attentionMask, [input.batch, input.pastLength + seq]),
    };
    if (this.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', input.positionIds, [input.batch, seq]);
    if (this.hasCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', [input.pastLength > 0], [1]);
    input.past.forEach((layer, i) => {
      feeds[`past_key_values.${i}.key`] = layer.key;
      feeds[`past_key_values.${i}.value`] = layer.value;
    });
    const out = await this.session.run(feeds);
    const logits = out.logits;
    if (!logits || logits.type !== 'float32') {
      throw new Error(`${this.spec.onnxPath}: expected float32 logits, got ${logits?.type ?? 'none'}`);
    }
    const present: LayerCache[] = [];
    for (let i = 0; i < this.spec.layers; i++) {
      present.push({ key: out[`present.${i}.key`]!, value: out[`present.${i}.value`]! });
    }
    return { logits: logits.data as Float32Array, present };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
