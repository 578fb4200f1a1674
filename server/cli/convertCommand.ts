// `aligner convert`: a Hugging Face checkpoint folder or a GGUF file -> a model folder the engine
// loads, or (--to hf) a GGUF file or a converted model folder (fast layout) -> a Hugging Face
// safetensors folder (the trainer's --base).
import { statSync } from 'node:fs';
import { oneOf } from './options.js';
import type { Command } from 'commander';
import {
  CONVERT_DTYPES,
  CONVERT_LAYOUTS,
  convertModel,
  type ConvertDtype,
  type ConvertLayout,
  type ConvertSummary,
} from '../convert/convertModel.js';
import { NBITS_BLOCK_SIZE } from '../convert/fastDecoderGraph.js';
import { SHIPPED_FORMAT_TEXT } from '../convert/shippedFormat.js';
import { convertGguf, isGgufSource } from '../convert/gguf/convertGguf.js';
import { ggufToHf } from '../convert/gguf/ggufToHf.js';
import { onnxToHf } from '../convert/onnxToHf.js';

const TARGETS = ['onnx', 'hf'] as const;
type Target = (typeof TARGETS)[number];

interface ConvertFlags {
  from: string;
  out: string;
  to: Target;
  dtype?: ConvertDtype;
  layout: ConvertLayout;
  blockSize?: number;
}

const log = (line: string) => process.stderr.write(line + '\n');
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const counts = (types: Record<string, number>) =>
  Object.entries(types)
    .map(([t, n]) => `${n} ${t}`)
    .join(', ');

/** The one line a conversion reports on stdout (`aligner export` prints the same). */
export function describeConversion(s: ConvertSummary, extra = ''): string {
  const err = s.dtype === 'fp32' ? '' : `, max weight error ${s.maxWeightError.toExponential(2)}`;
  return (
    `wrote ${s.modelType} ${s.layout} ${s.dtype} model to ${s.out}: ${(s.parameters / 1e6).toFixed(2)}M parameters, ` +
    `${mib(s.onnxBytes)} MiB of ONNX${s.externalData ? ' (external data)' : ''}${err}${extra}, ${s.seconds.toFixed(1)} s\n`
  );
}

const isFolder = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

async function toHf(f: ConvertFlags): Promise<void> {
  if (!isGgufSource(f.from) && !isFolder(f.from))
    throw new Error(
      `--to hf converts a GGUF file or a model folder \`aligner convert\` wrote (fast layout); ${f.from} is neither`,
    );
  if (f.dtype && f.dtype !== 'fp32') throw new Error('--to hf writes fp32 safetensors only');
  if (isFolder(f.from)) {
    const s = await onnxToHf({ from: f.from, out: f.out, log });
    const blocks = s.blockSize ? `, block ${s.blockSize}` : '';
    process.stdout.write(
      `wrote ${s.modelType} Hugging Face folder to ${s.out}: ${(s.parameters / 1e6).toFixed(2)}M parameters, ` +
        `${mib(s.bytes)} MiB of fp32 safetensors (from fast ${s.dtype}${blocks}), ${s.seconds.toFixed(1)} s\n`,
    );
    return;
  }
  const s = await ggufToHf({ from: f.from, out: f.out, log });
  for (const note of s.notes) log(`aligner: note: ${note}`);
  process.stdout.write(
    `wrote ${s.modelType} Hugging Face folder to ${s.out}: ${(s.parameters / 1e6).toFixed(2)}M parameters, ` +
      `${mib(s.bytes)} MiB of fp32 safetensors (from ${counts(s.sourceTypes)}), ${s.seconds.toFixed(1)} s\n`,
  );
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description(
      'convert a Hugging Face llama, gemma or qwen2 checkpoint (safetensors) or a GGUF file to an ONNX model folder, ' +
        'or (--to hf) a GGUF file or a converted llama model folder (fast layout) to a Hugging Face folder',
    )
    .requiredOption(
      '--from <path>',
      'Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json), a llama.cpp .gguf file, ' +
        'or with --to hf a model folder `aligner convert` wrote (config.json, tokenizer.json, onnx/model.onnx)',
    )
    .requiredOption('--out <dir>', 'folder to write')
    .option(
      '--to <format>',
      'onnx (a model folder for the engine) or hf (fp32 safetensors, from GGUF or a fast-layout model folder)',
      oneOf(TARGETS),
      'onnx',
    )
    .option(
      '--dtype <dtype>',
      `weights: ${CONVERT_DTYPES.join(', ')} (default fp32; the shipped model is ${SHIPPED_FORMAT_TEXT})`,
      oneOf(CONVERT_DTYPES),
    )
    .option(
      '--layout <layout>',
      'fast (engine-owned KV cache, contrib ops) or optimum (plain opset-17 Optimum export, fp32)',
      oneOf(CONVERT_LAYOUTS),
      'fast',
    )
    .option(
      '--block-size <n>',
      `int8 / int4: weights per quantization block, a power of two 16-256 (default ${NBITS_BLOCK_SIZE})`,
      Number,
    )
    .action(async (f: ConvertFlags) => {
      if (f.to === 'hf') return toHf(f);
      const opts = {
        from: f.from,
        out: f.out,
        dtype: f.dtype ?? 'fp32',
        layout: f.layout,
        blockSize: f.blockSize,
        log,
      };
      if (isGgufSource(f.from)) {
        const s = await convertGguf(opts);
        for (const note of s.gguf.notes) log(`aligner: note: ${note}`);
        process.stdout.write(describeConversion(s, ` (from GGUF: ${counts(s.gguf.sourceTypes)})`));
      } else {
        process.stdout.write(describeConversion(await convertModel(opts)));
      }
    });
}
