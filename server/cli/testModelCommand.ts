// `aligner make-test-model`: a random-weight model in the exact folder layout the engine loads.
import type { Command } from 'commander';
import { TEST_MODEL_PRESETS, writeTestModel } from '../testmodel/writeTestModel.js';
import type { TestModelType } from '../testmodel/writeTestModel.js';
import { intArg, oneOf } from './options.js';

interface TestModelFlags {
  type: TestModelType;
  out: string;
  preset: keyof typeof TEST_MODEL_PRESETS;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  maxPositions?: number;
  seed?: number;
}

export function registerTestModelCommand(program: Command): void {
  program
    .command('make-test-model')
    .description('write a small random-weight llama, gemma or qwen2 model (tests and benchmarks; no downloads)')
    .requiredOption('--out <dir>', 'folder to write')
    .option('--type <type>', 'llama, gemma or qwen2', oneOf(['llama', 'gemma', 'qwen2'] as const), 'llama')
    .option(
      '--preset <size>',
      `sizes: ${Object.keys(TEST_MODEL_PRESETS).join(', ')}`,
      oneOf(Object.keys(TEST_MODEL_PRESETS) as (keyof typeof TEST_MODEL_PRESETS)[]),
      'tiny',
    )
    .option('--hidden <n>', 'hidden size', intArg)
    .option('--layers <n>', 'decoder layers', intArg)
    .option('--heads <n>', 'attention heads', intArg)
    .option('--kv-heads <n>', 'key/value heads (GQA when fewer than heads)', intArg)
    .option('--head-dim <n>', 'head dimension (default hidden / heads)', intArg)
    .option('--intermediate <n>', 'MLP size', intArg)
    .option('--vocab <n>', 'vocabulary size', intArg)
    .option('--max-positions <n>', 'context length', intArg)
    .option('--seed <n>', 'random seed', intArg)
    .action(async (f: TestModelFlags) => {
      const summary = await writeTestModel({
        ...TEST_MODEL_PRESETS[f.preset],
        type: f.type,
        outDir: f.out,
        ...(f.hidden !== undefined ? { hiddenSize: f.hidden } : {}),
        ...(f.layers !== undefined ? { layers: f.layers } : {}),
        ...(f.heads !== undefined ? { heads: f.heads } : {}),
        ...(f.kvHeads !== undefined ? { kvHeads: f.kvHeads } : {}),
        ...(f.headDim !== undefined ? { headDim: f.headDim } : {}),
        ...(f.intermediate !== undefined ? { intermediateSize: f.intermediate } : {}),
        ...(f.vocab !== undefined ? { vocabSize: f.vocab } : {}),
        ...(f.maxPositions !== undefined ? { maxPositions: f.maxPositions } : {}),
        ...(f.seed !== undefined ? { seed: f.seed } : {}),
      });
      process.stdout.write(
        `wrote ${summary.type} test model to ${summary.dir}: ${(summary.parameters / 1e6).toFixed(2)}M parameters, ` +
          `${(summary.weightBytes / 2 ** 20).toFixed(1)} MiB of weights\n`,
      );
    });
}
