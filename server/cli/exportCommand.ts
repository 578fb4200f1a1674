// `aligner export`: a training run's final checkpoint -> a model folder, through the converter (fast
// layout; the shipped format unless --dtype / --block-size say otherwise). With --progress-json (what
// an export job passes) the result, or the error, is one JSON line on stdout: the job's `done` event
// (the runs dashboard shows its dtype, onnx_bytes and seconds) or its `error` event. Logs go to stderr.
import type { Command } from 'commander';
import { CONVERT_DTYPES, type ConvertDtype, type ConvertSummary } from '../convert/convertModel.js';
import { exportRun } from '../convert/exportRun.js';
import { SHIPPED_FORMAT } from '../convert/shippedFormat.js';
import { describeConversion } from './convertCommand.js';
import { oneOf } from './options.js';

interface ExportFlags {
  run: string;
  out: string;
  dtype: ConvertDtype;
  blockSize: number;
  progressJson?: boolean;
}

const emit = (event: object) => process.stdout.write(JSON.stringify(event) + '\n');

/** The `done` event: the fields the trainer's exporter reported, plus the layout and block size. */
function doneEvent(s: ConvertSummary, blockSize: number): object {
  const quantized = s.dtype === 'int8' || s.dtype === 'int4';
  return {
    event: 'done',
    path: s.out,
    model_type: s.modelType,
    layout: s.layout,
    dtype: s.dtype,
    ...(quantized ? { block_size: blockSize } : {}),
    parameters: s.parameters,
    onnx_bytes: s.onnxBytes,
    max_weight_error: s.maxWeightError,
    seconds: Math.round(s.seconds * 10) / 10,
  };
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'export a training run to a model folder: its final checkpoint through the converter, in the fast layout ' +
        `(default ${SHIPPED_FORMAT.dtype} with ${SHIPPED_FORMAT.blockSize}-weight blocks, the shipped model's format)`,
    )
    .requiredOption('--run <dir>', 'training run folder (`aligner train --out`); its final/ checkpoint is exported')
    .requiredOption('--out <dir>', 'model folder to write (an earlier export there is replaced)')
    .option('--dtype <dtype>', `weights: ${CONVERT_DTYPES.join(', ')}`, oneOf(CONVERT_DTYPES), SHIPPED_FORMAT.dtype)
    .option(
      '--block-size <n>',
      'int8 / int4: weights per quantization block, a power of two 16-256',
      Number,
      SHIPPED_FORMAT.blockSize,
    )
    .option('--progress-json', 'print the result (or the error) as a JSON line on stdout')
    .action(async (f: ExportFlags) => {
      const log = (line: string) => process.stderr.write(line + '\n');
      try {
        const s = await exportRun({ run: f.run, out: f.out, dtype: f.dtype, blockSize: f.blockSize, log });
        if (f.progressJson) emit(doneEvent(s, f.blockSize));
        else process.stdout.write(describeConversion(s));
      } catch (err) {
        if (!f.progressJson) throw err;
        const message = (err as Error).message;
        log(`aligner export: ${message}`);
        emit({ event: 'error', message });
        process.exitCode = 1;
      }
    });
}
