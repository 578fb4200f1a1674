// `aligner convert`: a Hugging Face checkpoint folder (config.json, safetensors, tokenizer files) of a
// llama, gemma or qwen2 model -> a model folder the engine loads, in the fast layout (any dtype) or
// the Optimum layout (fp32, the same graph as the test models, from real weights).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildDecoderGraph, type WeightSource } from '../onnx/decoderGraph.js';
import { GraphBuilder } from '../onnx/onnxGraph.js';
import { Checkpoint } from './checkpoint.js';
import {
  buildFastDecoderGraph,
  EMBEDDING_BITS,
  NBITS_ACCURACY_LEVEL,
  NBITS_BLOCK_SIZE,
  type FastDtype,
} from './fastDecoderGraph.js';
import { hfToOnnx, hfWeightSpecs, type HfTensor } from './hfWeights.js';
import { readModelConfig, type ModelArch } from './modelConfig.js';

export type ConvertDtype = FastDtype;
export type ConvertLayout = 'fast' | 'optimum';
export const CONVERT_DTYPES: readonly ConvertDtype[] = ['fp32', 'fp16', 'int8', 'int4'];
export const CONVERT_LAYOUTS: readonly ConvertLayout[] = ['fast', 'optimum'];

/** Weights go to onnx/model.onnx_data above this (protobuf caps a file at 2 GB). */
export const EXTERNAL_DATA_THRESHOLD_BYTES = 1.5e9;

const COPIED_FILES = ['config.json', 'generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export interface ConvertOptions {
  from: string;
  out: string;
  dtype?: ConvertDtype;
  layout?: ConvertLayout;
  /** int8 / int4: weights per quantization block (a power of two, 16-256; default NBITS_BLOCK_SIZE). */
  blockSize?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Override of EXTERNAL_DATA_THRESHOLD_BYTES (tests). */
  externalDataThresholdBytes?: number;
}

export interface ConvertSummary {
  out: string;
  modelType: string;
  layout: ConvertLayout;
  dtype: ConvertDtype;
  parameters: number;
  /** model.onnx plus model.onnx_data. */
  onnxBytes: number;
  externalData: boolean;
  /** Largest |stored - original| weight error (0 for fp32). */
  maxWeightError: number;
  seconds: number;
}

/**
 * Reads a checkpoint's tensors by HF name, checking each shape against what the config implies and
 * remembering which were used, so leftovers (an unsupported variant) are an error, not silent.
 */
class CheckedWeights {
  private readonly expected = new Map<string, HfTensor>();
  private readonly used = new Set<string>();

  constructor(
    private readonly ckpt: Checkpoint,
    arch: ModelArch,
  ) {
    for (const t of hfWeightSpecs(arch.dims, arch.qkvBias)) this.expected.set(t.name, t);
  }

  get = (name: string): Float32Array => {
    const spec = this.expected.get(name);
    if (!spec) throw new Error(`internal: unexpected weight ${name}`);
    const info = this.ckpt.info(name);
    if (info.shape.join('x') !== spec.shape.join('x'))
      throw new Error(`${name}: shape [${info.shape}] in the checkpoint, config.json implies [${spec.shape}]`);
    this.used.add(name);
    return this.ckpt.read(name);
  };

  /** Checkpoint tensors no graph used; a tied model's saved lm_head copy and rotary buffers are fine. */
  unused(arch: ModelArch): string[] {
    return this.ckpt
      .names()
      .filter((n) => !this.used.has(n) && !n.endsWith('rotary_emb.inv_freq'))
      .filter((n) => !(arch.dims.tieWordEmbeddings && n === 'lm_head.weight'));
  }
}

/** Bytes of the ONNX weights, to decide on external data before writing anything. */
export function estimateOnnxBytes(
  arch: ModelArch,
  layout: ConvertLayout,
  dtype: ConvertDtype,
  blockSize = NBITS_BLOCK_SIZE,
): number {
  const d = arch.dims;
  const specs = hfWeightSpecs(d, arch.qkvBias);
  const params = specs.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const rotary = d.maxPositions * d.headDim * 4;
  if (layout === 'optimum' || dtype === 'fp32') return params * 4 + rotary;
  if (dtype === 'fp16') return params * 2 + rotary;
  const blocks = (N: number, K: number, bits: number) => N * Math.ceil(K / blockSize) * ((blockSize * bits) / 8 + 4);
  const matrices = specs
    .filter((t) => t.shape.length === 2 && !t.name.includes('embed') && t.name !== 'lm_head.weight')
    .reduce((a, t) => a + blocks(t.shape[0], t.shape[1], dtype === 'int8' ? 8 : 4), 0);
  // the embedding table and lm_head: one int8 table when tied, two when not (upper bound)
  const table = blocks(d.vocabSize, d.hiddenSize, EMBEDDING_BITS) + d.vocabSize * Math.ceil(d.hiddenSize / blockSize);
  return matrices + table * (d.tieWordEmbeddings ? 1 : 2) + rotary;
}

export async function convertModel(opts: ConvertOptions): Promise<ConvertSummary> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const from = resolve(opts.from);
  const out = resolve(opts.out);
  const layout = opts.layout ?? 'fast';
  const dtype = opts.dtype ?? 'fp32';
  if (!CONVERT_LAYOUTS.includes(layout)) throw new Error(`unknown layout ${layout}`);
  if (!CONVERT_DTYPES.includes(dtype)) throw new Error(`unknown dtype ${dtype}`);
  if (layout === 'optimum' && dtype !== 'fp32') throw new Error('--layout optimum writes fp32 only');
  if (from === out) throw new Error('--out must differ from --from');
  const blockSize = opts.blockSize ?? NBITS_BLOCK_SIZE;
  if (!Number.isInteger(Math.log2(blockSize)) || blockSize < 16 || blockSize > 256)
    throw new Error(`--block-size ${blockSize}: a power of two from 16 to 256`);
  const arch = readModelConfig(from);
  if (!existsSync(join(from, 'tokenizer.json')))
    throw new Error(`${from}: tokenizer.json is missing (the engine needs the fast tokenizer file)`);

  const onnxDir = join(out, 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  const onnxPath = join(onnxDir, 'model.onnx');
  const dataPath = join(onnxDir, 'model.onnx_data');
  rmSync(dataPath, { force: true }); // never leave a stale data file next to a new graph
  const estimate = estimateOnnxBytes(arch, layout, dtype, blockSize);
  const external = estimate > (opts.externalDataThresholdBytes ?? EXTERNAL_DATA_THRESHOLD_BYTES);
  log(
    `converting ${arch.dims.type} (${arch.dims.layers} layers, hidden ${arch.dims.hiddenSize}) to ${layout} ${dtype}`,
  );

  const ckpt = Checkpoint.open(from);
  let parameters = 0;
  let maxWeightError = 0;
  try {
    const weights = new CheckedWeights(ckpt, arch);
    let bytes: Uint8Array;
    const doc = `${arch.dims.type} converted from ${from} by aligner convert (layout ${layout}, dtype ${dtype})`;
    if (layout === 'optimum') {
      const g = new GraphBuilder(external ? { path: dataPath } : undefined);
      const source: WeightSource = { weight: (name, dims) => hfToOnnx(name, dims, weights.get(name)) };
      parameters = buildDecoderGraph(g, arch.dims, source, { invFreq: arch.invFreq }).parameters;
      bytes = g.finish({ producer: 'aligner-convert', docString: doc });
    } else {
      const g = new GraphBuilder(external ? { path: dataPath } : undefined);
      const built = buildFastDecoderGraph(g, arch, weights.get, dtype, blockSize);
      parameters = built.parameters;
      maxWeightError = built.maxWeightError;
      bytes = g.finish({ producer: 'aligner-convert', docString: doc });
    }
    const unused = weights.unused(arch);
    if (unused.length)
      throw new Error(
        `the checkpoint has tensors this ${arch.dims.type} graph does not use: ${unused.slice(0, 5).join(', ')}`,
      );
    writeFileSync(onnxPath, bytes);
  } catch (err) {
    rmSync(onnxPath, { force: true });
    rmSync(dataPath, { force: true });
    throw err;
  } finally {
    ckpt.close();
  }

  copyFileSync(join(from, 'tokenizer.json'), join(out, 'tokenizer.json'));
  for (const f of COPIED_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(out, f));
  const aligner = alignerJson(from, layout, dtype, blockSize, arch.dims.hiddenSize % blockSize === 0);
  writeFileSync(join(out, 'aligner.json'), JSON.stringify(aligner, null, 2) + '\n');

  const onnxBytes = statSync(onnxPath).size + (external ? statSync(dataPath).size : 0);
  const summary: ConvertSummary = {
    out,
    modelType: arch.dims.type,
    layout,
    dtype,
    parameters,
    onnxBytes,
    externalData: external,
    maxWeightError,
    seconds: (performance.now() - t0) / 1000,
  };
  return summary;
}

/** The source's aligner.json (template, generation defaults, ...) plus how this folder was made. */
function alignerJson(
  from: string,
  layout: ConvertLayout,
  dtype: ConvertDtype,
  blockSize: number,
  embeddingQuantized: boolean,
): Record<string, unknown> {
  const path = join(from, 'aligner.json');
  const existing = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  const quantization =
    dtype === 'int8' || dtype === 'int4'
      ? {
          quantization: {
            op: 'MatMulNBits',
            bits: dtype === 'int8' ? 8 : 4,
            blockSize,
            symmetric: true,
            accuracyLevel: NBITS_ACCURACY_LEVEL,
            outputLayerBits: EMBEDDING_BITS,
            embedding: embeddingQuantized
              ? { op: 'GatherBlockQuantized', bits: EMBEDDING_BITS, blockSize }
              : { dtype: 'fp16' },
          },
        }
      : {};
  const kept = { ...existing };
  delete kept.quantization; // a re-conversion's settings replace the source's
  return { ...kept, layout, dtype, ...quantization };
}
