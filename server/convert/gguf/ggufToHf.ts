// `aligner convert --from FILE.gguf --to hf`: a GGUF file -> a Hugging Face folder (config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json, model.safetensors in fp32), which
// transformers, the trainer (--base) and `aligner convert` read. Tensors are dequantized one at a
// time and streamed to disk, so peak memory is the largest tensor, not the model.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hfWeightSpecs } from '../hfWeights.js';
import { parseModelConfig } from '../modelConfig.js';
import { SafetensorsWriter } from '../safetensors.js';
import { ggufConfigs } from './config.js';
import { canDequantize, DEQUANTIZABLE } from './dequant.js';
import { GgufError, GgufFile, printable, type GgufTensor } from './ggufFile.js';
import { Metadata } from './metadata.js';
import { ROPE_FREQS, hfName, toHfTensor } from './tensorMap.js';
import { ggufTokenizer } from './tokenizer.js';

export interface GgufToHfOptions {
  from: string;
  out: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface GgufToHfSummary {
  out: string;
  modelType: string;
  parameters: number;
  /** model.safetensors. */
  bytes: number;
  /** Tensors per ggml type in the source, e.g. {Q4_1: 210, F32: 61}. */
  sourceTypes: Record<string, number>;
  /** Things the user should know (e.g. an unknown pre-tokenizer). */
  notes: string[];
  seconds: number;
}

const writeJson = (path: string, value: unknown) => writeFileSync(path, JSON.stringify(value, null, 2) + '\n');

/** Pairs every GGUF weight with the HF tensor the config implies, or says what does not fit. */
function planTensors(gguf: GgufFile, expected: Map<string, number[]>, modelType: string): Map<string, GgufTensor> {
  const plan = new Map<string, GgufTensor>();
  for (const t of gguf.tensors) {
    if (t.name === ROPE_FREQS) continue; // read into the config
    const hf = hfName(t.name);
    const shape = hf === undefined ? undefined : expected.get(hf);
    if (!hf || !shape)
      throw new GgufError(`${gguf.path}: tensor ${printable(t.name)} has no place in a ${modelType} model`);
    const hfShape = [...t.dims].reverse();
    if (hfShape.join('x') !== shape.join('x'))
      throw new GgufError(
        `${gguf.path}: tensor ${printable(t.name)} has shape [${hfShape}], the metadata implies [${shape}]`,
      );
    if (!canDequantize(t.type))
      throw new GgufError(
        `${gguf.path}: tensor ${printable(t.name)} is ${t.type.name}, which this converter cannot dequantize (supported: ${DEQUANTIZABLE.join(', ')})`,
      );
    plan.set(hf, t);
  }
  const missing = [...expected.keys()].filter((n) => !plan.has(n));
  if (missing.length) throw new GgufError(`${gguf.path}: no tensor for ${missing.slice(0, 3).join(', ')}`);
  return plan;
}

export async function ggufToHf(opts: GgufToHfOptions): Promise<GgufToHfSummary> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const out = resolve(opts.out);
  const gguf = GgufFile.open(resolve(opts.from));
  try {
    const meta = Metadata.of(gguf);
    const { config, generation } = ggufConfigs(meta, gguf.tensors, (t) => gguf.read(t));
    let arch;
    try {
      arch = parseModelConfig(config);
    } catch (err) {
      throw new GgufError(`${gguf.path}: ${(err as Error).message.replace(/^config\.json: /, '')}`);
    }
    const d = arch.dims;
    const specs = hfWeightSpecs(d, arch.qkvBias);
    const plan = planTensors(gguf, new Map(specs.map((s) => [s.name, s.shape])), d.type);
    const tokenizer = ggufTokenizer(meta, d.maxPositions);
    const sourceTypes: Record<string, number> = {};
    for (const t of gguf.tensors) sourceTypes[t.type.name] = (sourceTypes[t.type.name] ?? 0) + 1;
    log(
      `converting ${d.type} GGUF (${d.layers} layers, hidden ${d.hiddenSize}, ` +
        `${Object.entries(sourceTypes)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}) to a Hugging Face fp32 folder`,
    );

    mkdirSync(out, { recursive: true });
    const weightsPath = join(out, 'model.safetensors');
    const writer = SafetensorsWriter.create(
      weightsPath,
      specs.map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape })),
    );
    let parameters = 0;
    try {
      for (const [hf, t] of plan) {
        writer.write(hf, toHfTensor(hf, gguf.read(t), d));
        parameters += t.count;
      }
      writer.close();
    } catch (err) {
      writer.abort();
      throw err;
    }
    writeJson(join(out, 'config.json'), config);
    writeJson(join(out, 'generation_config.json'), generation);
    writeJson(join(out, 'tokenizer.json'), tokenizer.tokenizer);
    writeJson(join(out, 'tokenizer_config.json'), tokenizer.tokenizerConfig);
    rmSync(join(out, 'model.safetensors.index.json'), { force: true }); // a stale index would win over our file
    return {
      out,
      modelType: d.type,
      parameters,
      bytes: statSync(weightsPath).size,
      sourceTypes,
      notes: tokenizer.notes,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    gguf.close();
  }
}
