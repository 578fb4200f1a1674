// Writes a small random-weight decoder-only model folder in the Hugging Face + Optimum ONNX layout
// (config.json, tokenizer files, onnx/model.onnx), so the engine and its tests can run real
// llama / gemma / qwen2 shaped models without downloads. model.safetensors holds the same weights
// as an HF checkpoint, so the folder is also a source for `aligner convert` and for transformers.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hfWeightSpecs, onnxToHf } from '../convert/hfWeights.js';
import { SafetensorsWriter } from '../convert/safetensors.js';
import { buildTokenizerFiles } from './bpeTokenizer.js';
import { buildDecoderGraph, randomWeights, type WeightSource } from '../onnx/decoderGraph.js';
import { buildGenerationConfig, buildHfConfig } from './hfConfig.js';
import { GraphBuilder } from '../onnx/onnxGraph.js';
import { Rng } from '../util/rng.js';
import type { ModelDims, ModelType as TestModelType } from '../onnx/modelDims.js';

export type { ModelType as TestModelType } from '../onnx/modelDims.js';

export interface TestModelOptions {
  type: TestModelType;
  outDir: string;
  hiddenSize?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  /** Defaults to hiddenSize / heads (the tiny Gemma default differs on purpose, like Gemma-7B). */
  headDim?: number;
  intermediateSize?: number;
  vocabSize?: number;
  maxPositions?: number;
  seed?: number;
  ropeTheta?: number;
  /** Weights in onnx/model.onnx_data; default: only when weights exceed 512 MB (protobuf's 2 GB cap). */
  externalData?: boolean;
  /** Also write the weights as an fp32 HF checkpoint, model.safetensors (default true). */
  safetensors?: boolean;
}

export interface TestModelSummary {
  dir: string;
  type: TestModelType;
  parameters: number;
  weightBytes: number;
  config: Record<string, unknown>;
}

/** Size presets; `type` and `outDir` come from the caller. Missing fields fall back to tiny sizes. */
export const TEST_MODEL_PRESETS: Record<'tiny' | '17m' | '100m' | '500m', Partial<TestModelOptions>> = {
  // ~1M params (llama), writes in a few ms; head layout comes from the per-type defaults below.
  tiny: { hiddenSize: 128, layers: 2, intermediateSize: 512, vocabSize: 2048 },
  // 16.9M params as llama.
  '17m': { hiddenSize: 384, layers: 6, heads: 6, kvHeads: 6, intermediateSize: 1024, vocabSize: 8192 },
  // 97.6M params as llama.
  '100m': { hiddenSize: 768, layers: 12, heads: 12, kvHeads: 12, intermediateSize: 2048, vocabSize: 8192 },
  // 493M params as llama (GQA 20/4); ~2 GB of fp32 weights, so it uses external data.
  '500m': { hiddenSize: 1280, layers: 24, heads: 20, kvHeads: 4, intermediateSize: 4096, vocabSize: 8192 },
};

const TINY = { hiddenSize: 128, layers: 2, heads: 4, intermediateSize: 512, vocabSize: 2048, maxPositions: 2048 };

// Per-type defaults. The tiny head layouts exercise GQA, and Gemma's head_dim != hidden/heads.
const TYPE_DEFAULTS: Record<
  TestModelType,
  { kvHeads: number; headDim?: number; ropeTheta: number; rmsNormEps: number; tie: boolean }
> = {
  llama: { kvHeads: 2, ropeTheta: 10000, rmsNormEps: 1e-5, tie: false },
  gemma: { kvHeads: 1, headDim: 48, ropeTheta: 10000, rmsNormEps: 1e-6, tie: true },
  qwen2: { kvHeads: 2, ropeTheta: 1000000, rmsNormEps: 1e-6, tie: true },
};

const EXTERNAL_THRESHOLD_BYTES = 512 * 1024 * 1024;

/** Fills in defaults and validates the architecture. */
export function resolveDims(opts: Omit<TestModelOptions, 'outDir'>): ModelDims {
  const t = TYPE_DEFAULTS[opts.type];
  if (!t) throw new Error(`unknown test model type: ${String(opts.type)}`);
  const hiddenSize = opts.hiddenSize ?? TINY.hiddenSize;
  // The per-type head layout applies as a group only when the caller picks no head count.
  const heads = opts.heads ?? TINY.heads;
  const kvHeads = opts.kvHeads ?? (opts.heads === undefined ? t.kvHeads : heads);
  const headDim = opts.headDim ?? (opts.heads === undefined && t.headDim ? t.headDim : hiddenSize / heads);
  const d: ModelDims = {
    type: opts.type,
    hiddenSize,
    layers: opts.layers ?? TINY.layers,
    heads,
    kvHeads,
    headDim,
    intermediateSize: opts.intermediateSize ?? TINY.intermediateSize,
    vocabSize: opts.vocabSize ?? TINY.vocabSize,
    maxPositions: opts.maxPositions ?? TINY.maxPositions,
    ropeTheta: opts.ropeTheta ?? t.ropeTheta,
    rmsNormEps: t.rmsNormEps,
    tieWordEmbeddings: t.tie,
  };
  const positive = [
    'hiddenSize',
    'layers',
    'heads',
    'kvHeads',
    'headDim',
    'intermediateSize',
    'vocabSize',
    'maxPositions',
  ] as const;
  for (const k of positive)
    if (!Number.isInteger(d[k]) || d[k] <= 0) throw new Error(`${k} must be a positive integer, got ${d[k]}`);
  if (d.heads % d.kvHeads !== 0) throw new Error(`heads (${d.heads}) must be a multiple of kvHeads (${d.kvHeads})`);
  if (d.headDim % 2 !== 0) throw new Error(`headDim must be even for rotary embeddings, got ${d.headDim}`);
  return d;
}

/** Parameter count without building anything (tied lm_head counted once). */
export function countParameters(d: ModelDims): number {
  const H = d.hiddenSize;
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const attn = H * q + 2 * H * kv + q * H + (d.type === 'qwen2' ? q + 2 * kv : 0);
  const perLayer = 2 * H + attn + 3 * H * d.intermediateSize;
  return d.vocabSize * H * (d.tieWordEmbeddings ? 1 : 2) + H + d.layers * perLayer;
}

export async function writeTestModel(opts: TestModelOptions): Promise<TestModelSummary> {
  const d = resolveDims(opts);
  const dir = opts.outDir;
  const onnxDir = join(dir, 'onnx');
  mkdirSync(onnxDir, { recursive: true });

  const tok = buildTokenizerFiles(d.type, d.vocabSize, d.maxPositions);
  const ids = { bos: tok.bosTokenId, eos: tok.eosTokenId, pad: tok.padTokenId };
  const config = buildHfConfig(d, ids);

  const parameters = countParameters(d);
  const weightBytes = parameters * 4;
  const external = opts.externalData ?? weightBytes > EXTERNAL_THRESHOLD_BYTES;
  const dataPath = join(onnxDir, 'model.onnx_data');
  rmSync(dataPath, { force: true }); // never leave a stale data file next to an inline model
  const g = new GraphBuilder(external ? { path: dataPath } : undefined);
  const random = randomWeights(new Rng(opts.seed ?? 1234));
  const stPath = join(dir, 'model.safetensors');
  rmSync(stPath, { force: true });
  // Each weight goes to the checkpoint (HF layout) as it is drawn, so big presets stream to disk.
  const st =
    opts.safetensors === false
      ? null
      : SafetensorsWriter.create(
          stPath,
          hfWeightSpecs(d).map((t) => ({ ...t, dtype: 'F32' as const })),
        );
  const source: WeightSource = {
    weight(name, dims, init) {
      const data = random.weight(name, dims, init);
      st?.write(name, onnxToHf(name, dims, data));
      return data;
    },
  };
  let built;
  try {
    built = buildDecoderGraph(g, d, source);
  } catch (err) {
    st?.abort();
    throw err;
  }
  st?.close();
  if (built.parameters !== parameters)
    throw new Error(`internal: built ${built.parameters} parameters, expected ${parameters}`);
  writeFileSync(
    join(onnxDir, 'model.onnx'),
    g.finish({ producer: 'aligner-testmodel', docString: `random-weight ${d.type} test model` }),
  );

  const json = (name: string, value: unknown) => writeFileSync(join(dir, name), JSON.stringify(value, null, 2) + '\n');
  json('config.json', config);
  json('generation_config.json', buildGenerationConfig(d, ids));
  writeFileSync(join(dir, 'tokenizer.json'), tok.tokenizerJson + '\n');
  json('tokenizer_config.json', tok.tokenizerConfig);
  json('special_tokens_map.json', tok.specialTokensMap);
  json('aligner.json', { template: 'correction', generation: { maxNewTokens: 128 }, testModel: true });

  return { dir, type: d.type, parameters, weightBytes, config };
}
