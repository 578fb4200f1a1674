// `aligner convert --from MODEL_DIR --to hf`: a model folder the converter wrote in the fast layout
// (onnx/model.onnx, fp32 / fp16 / int8 / int4) -> a Hugging Face folder (config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json as they are, model.safetensors in
// fp32) that transformers and the trainer (--base) load. Why: to go on training a model that exists
// only as it ships (models/default), with the weights the engine really runs. Block-quantized weights
// come back as (q - zero_point) * scale, so converting the result again with the same dtype and block
// size gives the same quantized bytes for every weight training left alone. (q's rows carry the folded
// 1/sqrt(head_dim): exact when it is a power of two, as for head_dim 64; otherwise dividing it out
// rounds, and a few of their scales come back one float32 ulp apart, their qweight bytes the same.)
// Llama without biases only
// (the shipped default is one): gemma and qwen2 fold norms, embedding scale and biases into the graph.
// The graph is read whole (145 MB for the default model); external data is read tensor by tensor.
import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { onnx as P } from 'onnx-proto';
import { MS_DOMAIN, onnx, TensorType } from '../onnx/onnxGraph.js';
import {
  EMBEDDING_BITS,
  FAST_NAMES,
  fastLayerNames,
  fastQueryScale,
  type FastDtype,
  type FastLinear,
} from './fastDecoderGraph.js';
import { halfArrayToFloat } from './halfFloat.js';
import { hfWeightSpecs, transpose } from './hfWeights.js';
import { readModelConfig } from './modelConfig.js';
import { dequantizeNBits } from './quantize.js';
import { SafetensorsWriter } from './safetensors.js';

export interface OnnxToHfOptions {
  /** A model folder: config.json, tokenizer.json, onnx/model.onnx in the fast layout. */
  from: string;
  out: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface OnnxToHfSummary {
  out: string;
  modelType: string;
  parameters: number;
  /** model.safetensors. */
  bytes: number;
  /** How the source stores its matrices. */
  dtype: FastDtype;
  /** int8 / int4: weights per quantization block. */
  blockSize?: number;
  /** The source keeps its weights in external data files. */
  externalData: boolean;
  seconds: number;
}

/** Files of the model folder the Hugging Face folder keeps as they are (tokenizer.json is required). */
const HF_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
];

/** The fast layout's marker input (the engine's past_bias; the Optimum layout has attention_mask). */
const FAST_MARKER_INPUT = 'past_bias';

const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [TensorType.FLOAT]: 4,
  [TensorType.FLOAT16]: 2,
  [TensorType.UINT8]: 1,
};
const TYPE_NAMES: Partial<Record<number, string>> = {
  [TensorType.FLOAT]: 'float32',
  [TensorType.FLOAT16]: 'float16',
  [TensorType.UINT8]: 'uint8',
};

const int = (v: number | { toNumber(): number } | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** MatMulNBits' attributes, by the weight it reads (its input 1). */
interface NBitsAttrs {
  bits: number;
  blockSize: number;
  K: number;
  N: number;
}

/**
 * The initializers of one model.onnx, read by name with their type and shape checked, remembering
 * which were used so that weights the reader does not know (biases, an unknown variant) are refused.
 */
class OnnxInitializers {
  private readonly tensors = new Map<string, P.ITensorProto>();
  private readonly used = new Set<string>();
  private readonly files = new Map<string, number>();
  readonly nbits = new Map<string, NBitsAttrs>();
  readonly inputs: string[];
  externalData = false;

  constructor(readonly path: string) {
    let model: P.ModelProto;
    try {
      model = onnx.ModelProto.decode(readFileSync(path));
    } catch (err) {
      throw new Error(`${path}: not an ONNX model (${(err as Error).message})`);
    }
    const graph = model.graph;
    if (!graph) throw new Error(`${path}: not an ONNX model (no graph)`);
    this.inputs = (graph.input ?? []).map((i) => i.name ?? '');
    for (const t of graph.initializer ?? []) this.tensors.set(t.name ?? '', t);
    for (const node of graph.node ?? []) {
      if (node.opType !== 'MatMulNBits' || node.domain !== MS_DOMAIN) continue;
      const attr = (name: string) => int(node.attribute?.find((a) => a.name === name)?.i);
      const weight = node.input?.[1] ?? '';
      this.nbits.set(weight, { bits: attr('bits'), blockSize: attr('block_size'), K: attr('K'), N: attr('N') });
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  dims(name: string): number[] {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.path}: no initializer ${name}`);
    return (t.dims ?? []).map(int);
  }

  /** A float32 or float16 initializer of exactly `shape`, as float32. */
  float(name: string, shape: number[]): Float32Array {
    const { t, bytes } = this.read(name, shape, [TensorType.FLOAT, TensorType.FLOAT16]);
    if (t.dataType === TensorType.FLOAT) return new Float32Array(bytes.buffer, bytes.byteOffset, numel(shape));
    return halfArrayToFloat(new Uint16Array(bytes.buffer, bytes.byteOffset, numel(shape)));
  }

  uint8(name: string, shape: number[]): Uint8Array {
    return this.read(name, shape, [TensorType.UINT8]).bytes;
  }

  /** Weight initializers (under model. or lm_head) nothing read, except those `allowed` lets pass. */
  unusedWeights(allowed: (name: string) => boolean): string[] {
    return [...this.tensors.keys()].filter(
      (n) => !this.used.has(n) && (n.startsWith('model.') || n.startsWith('lm_head')) && !allowed(n),
    );
  }

  close(): void {
    for (const fd of this.files.values()) closeSync(fd);
    this.files.clear();
  }

  /** The initializer's little-endian bytes, copied to an aligned buffer of its own. */
  private read(name: string, shape: number[], types: number[]): { t: P.ITensorProto; bytes: Uint8Array } {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.path}: no initializer ${name}`);
    this.used.add(name);
    const type = t.dataType ?? 0;
    if (!types.includes(type))
      throw new Error(
        `${this.path}: initializer ${name} is ${TYPE_NAMES[type] ?? `data type ${type}`}, ` +
          `not ${types.map((x) => TYPE_NAMES[x]).join(' or ')}`,
      );
    const dims = this.dims(name);
    if (dims.join('x') !== shape.join('x'))
      throw new Error(`${this.path}: initializer ${name} has shape [${dims}], config.json implies [${shape}]`);
    const size = numel(shape) * ELEMENT_BYTES[type]!;
    let bytes: Uint8Array;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) bytes = this.external(t, size);
    else if (t.rawData && t.rawData.byteLength > 0)
      bytes = new Uint8Array(t.rawData); // a copy, aligned
    else if (type === TensorType.FLOAT && t.floatData?.length)
      bytes = new Uint8Array(Float32Array.from(t.floatData).buffer);
    else if (type === TensorType.FLOAT16 && t.int32Data?.length)
      bytes = new Uint8Array(Uint16Array.from(t.int32Data).buffer);
    else if (type === TensorType.UINT8 && t.int32Data?.length) bytes = Uint8Array.from(t.int32Data);
    else bytes = new Uint8Array(0);
    if (bytes.byteLength !== size)
      throw new Error(`${this.path}: initializer ${name} holds ${bytes.byteLength} bytes, its shape needs ${size}`);
    return { t, bytes };
  }

  /** External data: a file beside model.onnx (location, offset, length), as onnxGraph.ts writes it. */
  private external(t: P.ITensorProto, size: number): Uint8Array {
    const entry = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
    const location = entry.get('location');
    const dir = dirname(this.path);
    const file = resolve(dir, location ?? '');
    const rel = relative(dir, file);
    if (!location || !rel || rel.startsWith('..') || isAbsolute(rel))
      throw new Error(
        `${this.path}: initializer ${t.name}'s external data location "${location}" is not a file beside it`,
      );
    const offset = Number(entry.get('offset') ?? 0);
    const length = Number(entry.get('length') ?? size);
    if (length !== size)
      throw new Error(
        `${this.path}: initializer ${t.name} has ${length} bytes of external data, its shape needs ${size}`,
      );
    let fd = this.files.get(file);
    if (fd === undefined) {
      if (!existsSync(file)) throw new Error(`${this.path}: external data file ${location} is missing`);
      fd = openSync(file, 'r');
      this.files.set(file, fd);
      this.externalData = true;
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > fstatSync(fd).size)
      throw new Error(`${this.path}: initializer ${t.name} lies outside ${location}`);
    const bytes = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const n = readSync(fd, bytes, done, Math.min(length - done, 1 << 30), offset + done);
      if (n <= 0) throw new Error(`${this.path}: initializer ${t.name} lies outside ${location}`);
      done += n;
    }
    return bytes;
  }
}

export async function onnxToHf(opts: OnnxToHfOptions): Promise<OnnxToHfSummary> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const from = resolve(opts.from);
  const out = resolve(opts.out);
  if (from === out) throw new Error('--out must differ from --from');
  const onnxPath = join(from, 'onnx', 'model.onnx');
  if (!existsSync(onnxPath))
    throw new Error(
      `${from}: no onnx/model.onnx; --to hf reads a GGUF file or a model folder \`aligner convert\` wrote (fast layout)`,
    );
  const arch = readModelConfig(from);
  const d = arch.dims;
  if (d.type !== 'llama')
    throw new Error(
      `${join(from, 'config.json')}: model_type "${d.type}" is not read back to Hugging Face: only llama ` +
        "without biases is (gemma's norms and embedding scale and qwen2's biases are folded into the graph)",
    );
  if (!existsSync(join(from, 'tokenizer.json'))) throw new Error(`${from}: tokenizer.json is missing`);

  const inits = new OnnxInitializers(onnxPath);
  try {
    if (!inits.inputs.includes(FAST_MARKER_INPUT))
      throw new Error(
        `${onnxPath}: not the converter's fast layout (no ${FAST_MARKER_INPUT} input` +
          `${inits.inputs.includes('attention_mask') ? '; an Optimum-layout export' : ''}): --to hf reads back only ` +
          'models `aligner convert` wrote in the fast layout (fp32, fp16, int8, int4); ' +
          'convert from the Hugging Face checkpoint instead',
      );
    const H = d.hiddenSize;
    const qRows = d.heads * d.headDim;
    const kvRows = d.kvHeads * d.headDim;
    const F = d.intermediateSize;
    const qScale = fastQueryScale(d.headDim);
    // how the matrices are stored (lm_head is int8 whatever they are): seen on the first one
    let dtype: FastDtype | undefined;
    let blockSize: number | undefined;

    /** HF's [N, K] weight of a fast linear, from whichever encoding the converter chose. */
    const linear = (base: string, N: number, K: number): Float32Array => {
      const qweight = FAST_NAMES.qweight(base);
      if (inits.has(qweight)) {
        const a = inits.nbits.get(qweight);
        if (!a) throw new Error(`${onnxPath}: no MatMulNBits reads ${qweight}`);
        if (a.bits !== 4 && a.bits !== 8)
          throw new Error(`${onnxPath}: ${qweight} has ${a.bits}-bit blocks; the converter writes 4 and 8`);
        if (a.blockSize < 16 || !Number.isInteger(Math.log2(a.blockSize)))
          throw new Error(`${onnxPath}: ${qweight} has block_size ${a.blockSize}, not a power of two from 16`);
        if (a.N !== N || a.K !== K)
          throw new Error(`${onnxPath}: ${base} is ${a.N}x${a.K} in MatMulNBits, config.json implies ${N}x${K}`);
        if (base !== FAST_NAMES.lmHead) {
          dtype ??= a.bits === 8 ? 'int8' : 'int4';
          blockSize ??= a.blockSize;
        }
        const blocks = Math.ceil(K / a.blockSize);
        const data = inits.uint8(qweight, [N, blocks, (a.blockSize * a.bits) / 8]);
        return dequantizeNBits(data, inits.float(FAST_NAMES.scales(base), [N, blocks]), N, K, a.bits, a.blockSize);
      }
      const weightT = FAST_NAMES.weightT(base);
      for (const [name, encoding] of [
        [FAST_NAMES.fp16(weightT), 'fp16'],
        [weightT, 'fp32'],
      ] as const) {
        if (!inits.has(name)) continue;
        if (base !== FAST_NAMES.lmHead) dtype ??= encoding;
        return transpose(inits.float(name, [K, N]), K, N);
      }
      throw new Error(
        `${onnxPath}: no weight for ${base} (not the fast layout \`aligner convert\` writes now: ` +
          'convert from the Hugging Face checkpoint again)',
      );
    };

    /** The embedding table [V, H]: int8 blocks (GatherBlockQuantized's), or fp16 / fp32. */
    const embedding = (): Float32Array => {
      const base = FAST_NAMES.embedding;
      const V = d.vocabSize;
      const qweight = FAST_NAMES.qweight(base);
      if (inits.has(qweight)) {
        // [V, blocks, blob] as nbitsInit wrote it: a blob holds one block of EMBEDDING_BITS values
        const dims = inits.dims(qweight);
        const [, blocks, blob] = dims;
        const size = (blob * 8) / EMBEDDING_BITS;
        if (dims.length !== 3 || blocks !== Math.ceil(H / size))
          throw new Error(
            `${onnxPath}: ${qweight} has shape [${dims}], not ${EMBEDDING_BITS}-bit blocks of rows of ${H}`,
          );
        const zeroPoints = FAST_NAMES.zeroPoints(base);
        if (inits.has(zeroPoints)) {
          const zp = inits.uint8(zeroPoints, [V, blocks]);
          if (zp.some((z) => z !== 1 << (EMBEDDING_BITS - 1)))
            throw new Error(`${onnxPath}: ${zeroPoints} is not the symmetric zero point ${1 << (EMBEDDING_BITS - 1)}`);
        }
        const data = inits.uint8(qweight, [V, blocks, blob]);
        return dequantizeNBits(data, inits.float(FAST_NAMES.scales(base), [V, blocks]), V, H, EMBEDDING_BITS, size);
      }
      const table = FAST_NAMES.table(base);
      const name = inits.has(FAST_NAMES.fp16(table)) ? FAST_NAMES.fp16(table) : table;
      return inits.float(name, [V, H]);
    };

    log(`reading back ${d.type} (${d.layers} layers, hidden ${H}) to a Hugging Face fp32 folder`);
    const specs = hfWeightSpecs(d, false);
    const parameters = specs.reduce((a, s) => a + numel(s.shape), 0);
    mkdirSync(out, { recursive: true });
    const weightsPath = join(out, 'model.safetensors');
    const writer = SafetensorsWriter.create(
      weightsPath,
      specs.map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape })),
    );
    const hfWeight = (module: string) => `${module}.weight`;
    /** Splits a stacked linear's rows among its HF modules. */
    const writeRows = (l: FastLinear, rows: number[], K: number, w: Float32Array, q = false) => {
      let at = 0;
      l.hf.forEach((module, i) => {
        const part = w.subarray(at * K, (at + rows[i]) * K);
        // q's rows carry the folded 1/sqrt(head_dim): divided out in float64, rounded once to float32
        writer.write(hfWeight(module), q && i === 0 ? part.map((v) => v / qScale) : part);
        at += rows[i];
      });
    };
    try {
      writer.write(FAST_NAMES.table(FAST_NAMES.embedding), embedding());
      for (let i = 0; i < d.layers; i++) {
        const L = fastLayerNames(i);
        writer.write(L.inputNorm, inits.float(L.inputNorm, [H]));
        writer.write(L.postAttentionNorm, inits.float(L.postAttentionNorm, [H]));
        writeRows(L.qkv, [qRows, kvRows, kvRows], H, linear(L.qkv.base, qRows + 2 * kvRows, H), true);
        writeRows(L.o, [H], qRows, linear(L.o.base, H, qRows));
        writeRows(L.gateUp, [F, F], H, linear(L.gateUp.base, 2 * F, H));
        writeRows(L.down, [H], F, linear(L.down.base, H, F));
      }
      writer.write(FAST_NAMES.finalNorm, inits.float(FAST_NAMES.finalNorm, [H]));
      if (!d.tieWordEmbeddings) writer.write(hfWeight(FAST_NAMES.lmHead), linear(FAST_NAMES.lmHead, d.vocabSize, H));
      // a tied table's int8 lm_head copy (written when the table stays fp16) is the same HF tensor,
      // which comes back from the fp16 table
      const unused = inits.unusedWeights((n) => d.tieWordEmbeddings && n.startsWith(`${FAST_NAMES.lmHead}.`));
      if (unused.length)
        throw new Error(
          `${onnxPath}: weights a llama without biases does not have: ${unused.slice(0, 3).join(', ')} ` +
            '(only llama without biases is read back)',
        );
      writer.close();
    } catch (err) {
      writer.abort();
      throw err;
    }
    for (const f of HF_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(out, f));
    rmSync(join(out, 'model.safetensors.index.json'), { force: true }); // a stale index would win over our file
    if (!dtype) throw new Error(`internal: ${onnxPath} read without a matrix`);
    return {
      out,
      modelType: d.type,
      parameters,
      bytes: statSync(weightsPath).size,
      dtype,
      blockSize: dtype === 'int8' || dtype === 'int4' ? blockSize : undefined,
      externalData: inits.externalData,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    inits.close();
  }
}
