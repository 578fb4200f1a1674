// Reads a Hugging Face config.json (transformers 4.x or 5.x field names) of a llama, gemma or qwen2
// model into the architecture the graph builders need, refusing variants they would get wrong.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelDims, ModelType } from '../onnx/modelDims.js';
import { ropeInvFreq, type RopeParams } from './rope.js';

export const CONVERTIBLE_TYPES: readonly ModelType[] = ['llama', 'gemma', 'qwen2'];

export interface ModelArch {
  dims: ModelDims;
  rope: RopeParams;
  invFreq: Float32Array;
  /** q/k/v projections carry a bias (qwen2). */
  qkvBias: boolean;
  activation: 'silu' | 'gelu_tanh';
  config: Record<string, unknown>;
}

type Json = Record<string, unknown>;

const num = (c: Json, key: string): number | undefined => (typeof c[key] === 'number' ? (c[key] as number) : undefined);

function req(c: Json, key: string): number {
  const v = num(c, key);
  if (v === undefined || !Number.isInteger(v) || v <= 0)
    throw new Error(`config.json: ${key} must be a positive integer`);
  return v;
}

/** transformers 5 moved rope_theta / rope_scaling into rope_parameters; accept both. */
function ropeParams(c: Json): RopeParams {
  const p = ((c.rope_parameters ?? c.rope_scaling ?? {}) as Json) || {};
  const theta = num(p, 'rope_theta') ?? num(c, 'rope_theta') ?? 10000;
  const type = String(p.rope_type ?? p.type ?? 'default');
  return {
    theta,
    type,
    factor: num(p, 'factor'),
    lowFreqFactor: num(p, 'low_freq_factor'),
    highFreqFactor: num(p, 'high_freq_factor'),
    originalMaxPositions: num(p, 'original_max_position_embeddings'),
  };
}

export function parseModelConfig(config: Json): ModelArch {
  const type = config.model_type as ModelType;
  if (!CONVERTIBLE_TYPES.includes(type))
    throw new Error(
      `config.json: model_type "${String(config.model_type)}" is not supported (${CONVERTIBLE_TYPES.join(', ')})`,
    );
  const hiddenSize = req(config, 'hidden_size');
  const heads = req(config, 'num_attention_heads');
  const dims: ModelDims = {
    type,
    hiddenSize,
    layers: req(config, 'num_hidden_layers'),
    heads,
    kvHeads: num(config, 'num_key_value_heads') ?? heads,
    headDim: num(config, 'head_dim') ?? hiddenSize / heads,
    intermediateSize: req(config, 'intermediate_size'),
    vocabSize: req(config, 'vocab_size'),
    maxPositions: num(config, 'max_position_embeddings') ?? 2048,
    ropeTheta: 0,
    rmsNormEps: num(config, 'rms_norm_eps') ?? 1e-6,
    // transformers' per-class defaults: Gemma ties, Llama and Qwen2 don't
    tieWordEmbeddings: typeof config.tie_word_embeddings === 'boolean' ? config.tie_word_embeddings : type === 'gemma',
  };
  const rope = ropeParams(config);
  dims.ropeTheta = rope.theta;
  if (!Number.isInteger(dims.headDim) || dims.headDim % 2)
    throw new Error(`config.json: head_dim ${dims.headDim} must be an even integer`);
  if (dims.heads % dims.kvHeads)
    throw new Error('config.json: num_attention_heads must be a multiple of num_key_value_heads');
  if (config.partial_rotary_factor !== undefined && config.partial_rotary_factor !== 1)
    throw new Error('config.json: partial_rotary_factor is not supported');
  if (type === 'llama' && (config.attention_bias === true || config.mlp_bias === true))
    throw new Error('config.json: llama with attention_bias or mlp_bias is not supported');
  if (type === 'qwen2' && config.use_sliding_window === true)
    throw new Error('config.json: qwen2 with use_sliding_window is not supported');
  // Gemma always runs the tanh GELU (transformers maps the legacy "gelu" to it); the others SiLU.
  const act = String(config.hidden_act ?? 'silu');
  if (type !== 'gemma' && act !== 'silu')
    throw new Error(`config.json: hidden_act "${act}" is not supported for ${type}`);
  return {
    dims,
    rope,
    invFreq: ropeInvFreq(rope, dims.headDim),
    qkvBias: type === 'qwen2',
    activation: type === 'gemma' ? 'gelu_tanh' : 'silu',
    config,
  };
}

export function readModelConfig(dir: string): ModelArch {
  const path = join(dir, 'config.json');
  let config: Json;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return parseModelConfig(config);
}
