// `aligner convert`: a Hugging Face checkpoint folder -> a model folder the engine loads.
import { oneOf } from './options.js';
import type { Command } from 'commander';
import {
  CONVERT_DTYPES,
  CONVERT_LAYOUTS,
  convertModel,
  type ConvertDtype,
  type ConvertLayout,
} from '../convert/convertModel.js';

interface ConvertFlags {
  from: string;
  out: string;
  dtype: ConvertDtype;
  layout: ConvertLayout;
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('convert a Hugging Face llama, gemma or qwen2 checkpoint (safetensors) to an ONNX model folder')
    .requiredOption('--from <dir>', 'Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)')
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--dtype <dtype>', `weights: ${CONVERT_DTYPES.join(', ')}`, oneOf(CONVERT_DTYPES), 'fp32')
    .option(
      '--layout <layout>',
      'fast (engine-owned KV cache, contrib ops) or optimum (plain opset-17 Optimum export, fp32)',
      oneOf(CONVERT_LAYOUTS),
      'fast',
    )
    .action(async (f: ConvertFlags) => {
      const s = await convertModel({
        from: f.from,
        out: f.out,
        dtype: f.dtype,
        layout: f.layout,
        log: (line) => process.stderr.write(line + '\n'),
      });
      const mib = (s.onnxBytes / 2 ** 20).toFixed(1);
      const err = s.dtype === 'fp32' ? '' : `, max weight error ${s.maxWeightError.toExponential(2)}`;
      process.stdout.write(
        `wrote ${s.modelType} ${s.layout} ${s.dtype} model to ${s.out}: ${(s.parameters / 1e6).toFixed(2)}M parameters, ` +
          `${mib} MiB of ONNX${s.externalData ? ' (external data)' : ''}${err}, ${s.seconds.toFixed(1)} s\n`,
      );
    });
}
