// Reads a model folder in the Hugging Face + Optimum ONNX layout and checks it before any session
// is created, so a broken folder gets one clear message naming the file at fault.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { GenerationOptionsSchema, TemplateNameSchema } from '../protocol/index.js';
import type { GenerationOptions, TemplateName } from '../protocol/index.js';
import { DEFAULT_TEMPLATE } from './templates.js';

export const SUPPORTED_MODEL_TYPES = ['llama', 'gemma', 'qwen2'] as const;

export interface ModelSpec {
  dir: string;
  onnxPath: string;
  modelType: (typeof SUPPORTED_MODEL_TYPES)[number];
  layers: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  eosTokenIds: number[];
  padTokenId: number;
  template: TemplateName;
  generationDefaults: GenerationOptions;
  tokenizerJson: object;
  tokenizerConfig: object;
}

export class ModelFolderError extends Error {}

const HfConfigSchema = z
  .object({
    model_type: z.string(),
    hidden_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().optional(),
    head_dim: z.number().int().positive().nullish(),
    vocab_size: z.number().int().positive(),
    max_position_embeddings: z.number().int().positive().optional(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    pad_token_id: z.number().int().nullish(),
  })
  .passthrough();

const GenerationConfigSchema = z
  .object({
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    pad_token_id: z.number().int().nullish(),
    max_new_tokens: z.number().int().positive().optional(),
    temperature: z.number().optional(),
    top_p: z.number().optional(),
    top_k: z.number().int().optional(),
    do_sample: z.boolean().optional(),
    repetition_penalty: z.number().optional(),
  })
  .passthrough();

/** The optional aligner.json: which prompt template the model was trained with, and defaults. */
const AlignerJsonSchema = z
  .object({
    template: TemplateNameSchema.optional(),
    generation: GenerationOptionsSchema.optional(),
  })
  .passthrough();

function readJson(dir: string, name: string, required: boolean): unknown {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (required) throw new ModelFolderError(`${path} is missing (a model folder needs ${name})`);
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelFolderError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ModelFolderError(`${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

const asList = (v: number | number[] | null | undefined): number[] =>
  v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];

export function readModelFolder(folder: string): ModelSpec {
  const dir = resolve(folder);
  if (!existsSync(dir)) throw new ModelFolderError(`model folder ${dir} does not exist`);
  const config = parseWith(HfConfigSchema, readJson(dir, 'config.json', true), join(dir, 'config.json'));
  const modelType = config.model_type as ModelSpec['modelType'];
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) {
    throw new ModelFolderError(
      `${join(dir, 'config.json')}: model_type "${config.model_type}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  const generation = parseWith(
    GenerationConfigSchema,
    readJson(dir, 'generation_config.json', false) ?? {},
    join(dir, 'generation_config.json'),
  );
  const aligner = parseWith(AlignerJsonSchema, readJson(dir, 'aligner.json', false) ?? {}, join(dir, 'aligner.json'));
  const tokenizerJson = readJson(dir, 'tokenizer.json', true) as object;
  const tokenizerConfig = (readJson(dir, 'tokenizer_config.json', false) ?? {}) as object;

  const onnxPath = join(dir, 'onnx', 'model.onnx');
  if (!existsSync(onnxPath)) throw new ModelFolderError(`${onnxPath} is missing (export the model to ONNX first)`);

  const eosTokenIds = [...new Set([...asList(generation.eos_token_id), ...asList(config.eos_token_id)])];
  if (eosTokenIds.length === 0) {
    throw new ModelFolderError(`${dir}: no eos_token_id in config.json or generation_config.json`);
  }
  // HF defaults: generation_config's sampling fields apply only when do_sample is true.
  const sampled = generation.do_sample === true;
  const hfDefaults: GenerationOptions = {
    ...(generation.max_new_tokens ? { maxNewTokens: generation.max_new_tokens } : {}),
    ...(sampled && generation.temperature !== undefined ? { temperature: generation.temperature } : {}),
    ...(sampled && generation.top_p !== undefined ? { topP: generation.top_p } : {}),
    ...(sampled && generation.top_k !== undefined ? { topK: generation.top_k } : {}),
    ...(generation.repetition_penalty !== undefined ? { repetitionPenalty: generation.repetition_penalty } : {}),
  };
  return {
    dir,
    onnxPath,
    modelType,
    layers: config.num_hidden_layers,
    kvHeads: config.num_key_value_heads ?? config.num_attention_heads,
    headDim: config.head_dim ?? config.hidden_size / config.num_attention_heads,
    vocabSize: config.vocab_size,
    contextLength: config.max_position_embeddings ?? 2048,
    eosTokenIds,
    padTokenId: config.pad_token_id ?? generation.pad_token_id ?? eosTokenIds[0]!,
    template: aligner.template ?? DEFAULT_TEMPLATE,
    generationDefaults: { ...hfDefaults, ...(aligner.generation ?? {}) },
    tokenizerJson,
    tokenizerConfig,
  };
}
