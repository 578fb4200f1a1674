// `aligner correct`: one correction through the engine, streamed to stdout.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EngineHost } from '../engine/host.js';
import { addGenerationFlags, epArg, generationFromFlags, intArg, templateArg } from './options.js';
import type { GenerationFlags } from './options.js';
import { defaultModelDir } from './paths.js';
import { SAMPLE } from './sample.js';
import { renderWordDiff, useColour } from './wordDiff.js';
import type { ExecutionProvider, TemplateName } from '../protocol/index.js';

interface CorrectFlags extends GenerationFlags {
  model?: string;
  question?: string;
  questionFile?: string;
  answer?: string;
  answerFile?: string;
  sample?: boolean;
  template?: TemplateName;
  diff?: boolean;
  json?: boolean;
  threads?: number;
  ep?: ExecutionProvider;
}

function isTestModel(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, 'aligner.json'), 'utf8')).testModel === true;
  } catch {
    return false;
  }
}

function readText(value: string | undefined, file: string | undefined): string | undefined {
  if (file !== undefined) return readFileSync(file === '-' ? 0 : file, 'utf8');
  if (value === '-') return readFileSync(0, 'utf8');
  return value;
}

export function registerCorrectCommand(program: Command): void {
  addGenerationFlags(
    program
      .command('correct')
      .description('correct an answer to a question with an Aligner model')
      .option('--model <dir>', 'model folder (default: $ALIGNER_MODEL or the bundled models/default)')
      .option('-q, --question <text>', 'the question ("-" reads stdin)')
      .option('--question-file <file>', 'read the question from a file ("-" = stdin)')
      .option('-a, --answer <text>', 'the upstream answer to correct ("-" reads stdin)')
      .option('--answer-file <file>', 'read the answer from a file ("-" = stdin)')
      .option('--sample', 'correct a built-in sample question and answer')
      .option('--template <name>', 'prompt template: correction, v1.0 or revision', templateArg)
      .option('--diff', 'print a coloured word diff of answer -> correction')
      .option('--json', 'print one JSON object (text, tokenIds, usage, timings) instead of streaming')
      .option('--threads <n>', 'intra-op threads', intArg)
      .option('--ep <provider>', 'execution provider: cpu, cuda or webgpu', epArg),
  ).action(async (flags: CorrectFlags) => {
    const question = flags.sample ? SAMPLE.question : readText(flags.question, flags.questionFile);
    const answer = flags.sample ? SAMPLE.answer : readText(flags.answer, flags.answerFile);
    if (question === undefined || answer === undefined) {
      throw new Error('give --question and --answer (or --question-file/--answer-file, or --sample)');
    }
    const generation = { temperature: 0, ...generationFromFlags(flags) };
    const host = new EngineHost({ threads: flags.threads, maxBatch: 1 });
    try {
      const modelDir = flags.model ?? defaultModelDir();
      const model = await host.loadModel({ path: modelDir, executionProvider: flags.ep });
      if (model.notice) process.stderr.write(`aligner: ${model.notice}\n`);
      if (isTestModel(model.path)) {
        process.stderr.write('aligner: this is a random-weight test model: its output is noise, not a correction\n');
      }
      const streaming = !flags.json && !flags.diff;
      if (flags.diff || streaming) {
        process.stderr.write(`model: ${model.path} (${model.modelType}, ${model.executionProvider})\n`);
      }
      const result = await host.correct(
        { requestId: randomUUID(), question, answer, template: flags.template, generation },
        { onDelta: streaming ? (delta) => process.stdout.write(delta) : undefined },
      );
      if (flags.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
      } else if (flags.diff) {
        process.stdout.write(
          `Question: ${question}\n\n${renderWordDiff(answer, result.text, useColour(process.stdout))}\n`,
        );
      } else {
        process.stdout.write('\n');
      }
      if (!flags.json) {
        const t = result.timings;
        process.stderr.write(
          `${result.usage.promptTokens} prompt + ${result.usage.completionTokens} new tokens, ` +
            `finish: ${result.finishReason}, prefill ${t.prefillMs.toFixed(0)} ms, ` +
            `decode ${t.decodeTokensPerSecond.toFixed(1)} tokens/s\n`,
        );
      }
    } finally {
      await host.close();
    }
  });
}
