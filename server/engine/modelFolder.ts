// Reads a model folder in the Hugging Face + Optimum ONNX layout and checks it before any session
// is created, so a broken folder gets one clear message naming the file at fault.
// A folder may be hostile (downloaded, or named by a client): only regular files are read (a FIFO
// would block the engine forever, /dev/zero would fill memory), each within a size cap, symlinks
// only when they resolve inside the folder, and no error message quotes a file's contents.
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
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

const MiB = 1024 * 1024;
/** Largest file read per name; tokenizer.json of big-vocabulary models runs to tens of MB. */
export const MODEL_FILE_CAPS: Record<string, number> = {
  'config.json': 4 * MiB,
  'generation_config.json': 4 * MiB,
  'aligner.json': 4 * MiB,
  'tokenizer_config.json': 16 * MiB,
  'tokenizer.json': 128 * MiB,
};
const DEFAULT_CAP = 4 * MiB;

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException)?.code ?? 'error';

/**
 * The real path of `name` in the (real) folder `root`, or null when it does not exist; throws when it
 * resolves outside the folder. What kind of file it is, callers check on the opened descriptor.
 */
export function resolveModelFile(root: string, name: string): string | null {
  const path = join(root, name);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return null;
    throw new ModelFolderError(`${path} cannot be read (${codeOf(err)})`);
  }
  if (!inside(root, real)) throw new ModelFolderError(`${path} is a link that resolves outside the model folder`);
  return real;
}

/**
 * Reads `name` from the model folder `root` (a real path): a regular file within the folder, at
 * most its cap. Returns undefined when the file does not exist.
 */
export function readModelFile(
  root: string,
  name: string,
  maxBytes = MODEL_FILE_CAPS[name] ?? DEFAULT_CAP,
): Buffer | undefined {
  const path = join(root, name);
  const real = resolveModelFile(root, name);
  if (real === null) return undefined;
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer; fstat then refuses it.
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    throw new ModelFolderError(`${path} cannot be opened (${codeOf(err)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ModelFolderError(`${path} is not a regular file`);
    if (stat.size > maxBytes) {
      throw new ModelFolderError(
        `${path} is ${(stat.size / MiB).toFixed(1)} MiB; more than the ${Math.round(maxBytes / MiB)} MiB a ${name} may be`,
      );
    }
    const buf = Buffer.alloc(stat.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break; // shrank while we read: parse what is there
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function readJson(dir: string, name: string, required: boolean): unknown {
  const path = join(dir, name);
  const data = readModelFile(dir, name);
  if (data === undefined) {
    if (required) throw new ModelFolderError(`${path} is missing (a model folder needs ${name})`);
    return undefined;
  }
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (err) {
    // V8's message quotes the text around the error: keep only where it is.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ModelFolderError(`${path} is not valid JSON${at ? ` (at character ${at})` : ''}`);
  }
}

/** onnx/ holds the graph and its external data, which onnxruntime opens itself: vet every entry first. */
function checkOnnxFolder(dir: string): string {
  const onnxPath = join(dir, 'onnx', 'model.onnx');
  const real = resolveModelFile(dir, join('onnx', 'model.onnx'));
  if (real === null) throw new ModelFolderError(`${onnxPath} is missing (export the model to ONNX first)`);
  const onnxDir = resolveModelFile(dir, 'onnx')!;
  for (const entry of readdirSync(onnxDir)) {
    const file = resolveModelFile(dir, join('onnx', entry));
    if (file === null) continue; // a dangling link: nothing onnxruntime could read either
    const stat = statOrNull(file);
    if (stat && !stat.isFile() && !stat.isDirectory()) {
      throw new ModelFolderError(`${join(dir, 'onnx', entry)} is not a regular file`);
    }
  }
  return real;
}

function statOrNull(path: string) {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    return fstatSync(fd);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
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
  const given = resolve(folder);
  if (!existsSync(given)) throw new ModelFolderError(`model folder ${given} does not exist`);
  // Files are confined to the folder's real path, so the folder itself may be a link (models/default);
  // the model keeps the name it was given.
  const dir = realpathSync(given);
  const config = parseWith(HfConfigSchema, readJson(dir, 'config.json', true), join(dir, 'config.json'));
  const modelType = config.model_type as ModelSpec['modelType'];
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) {
    throw new ModelFolderError(
      `${join(dir, 'config.json')}: model_type ${JSON.stringify(config.model_type.slice(0, 40))} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
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

  const onnxPath = checkOnnxFolder(dir);

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
    dir: given,
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
