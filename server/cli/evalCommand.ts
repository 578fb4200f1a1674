// `aligner eval`: corrects the answers in JSONL files with an Aligner model, judges the corrections,
// and writes rows.jsonl, summary.json and summary.md (see docs/eval.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EngineHost } from '../engine/host.js';
import {
  BOOTSTRAP_RESAMPLES,
  parseJudgeList,
  runEvaluation,
  type EvalOptions,
  type SelectableJudge,
} from '../eval/index.js';
import { headline } from '../eval/summary/markdown.js';
import type { ExecutionProvider, TemplateName } from '../protocol/index.js';
import {
  addGenerationFlags,
  epArg,
  generationFromFlags,
  intArg,
  templateArg,
  type GenerationFlags,
} from './options.js';
import { defaultModelDir } from './paths.js';

interface EvalFlags extends GenerationFlags {
  model?: string;
  data: string[];
  out: string;
  judge?: SelectableJudge[];
  limit?: number;
  upstreamEndpoint?: string;
  upstreamModel?: string;
  upstreamKeyEnv?: string;
  upstreamMaxTokens?: number;
  judgeEndpoint?: string;
  judgeModel?: string;
  judgeKeyEnv?: string;
  judgePrompt?: string;
  judgeMaxTokens?: number;
  alignerEndpoints?: boolean;
  concurrency: number;
  bootstrap: number;
  force?: boolean;
  progressJson?: boolean;
  template?: TemplateName;
  threads?: number;
  ep?: ExecutionProvider;
}

const positiveInt = (v: string) => {
  const n = intArg(v);
  if (n < 1) throw new InvalidArgumentError('must be at least 1');
  return n;
};
const nonNegativeInt = (v: string) => {
  const n = intArg(v);
  if (n < 0) throw new InvalidArgumentError('must be 0 or more');
  return n;
};
const judgeListArg = (v: string) => {
  try {
    return parseJudgeList(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

function isTestModel(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, 'aligner.json'), 'utf8')).testModel === true;
  } catch {
    return false;
  }
}

/** Flags to runEvaluation options; throws on flag combinations that cannot work. */
export function evalOptionsFromFlags(flags: EvalFlags): EvalOptions {
  if (flags.upstreamEndpoint && !flags.upstreamModel) throw new Error('--upstream-endpoint needs --upstream-model');
  if (flags.judgeEndpoint && !flags.judgeModel) throw new Error('--judge-endpoint needs --judge-model');
  if (flags.judge?.includes('llm') && !flags.judgeEndpoint)
    throw new Error('--judge llm needs --judge-endpoint and --judge-model');
  const draft = flags.alignerEndpoints ? { appendDraft: '' } : {};
  return {
    data: flags.data,
    outDir: flags.out,
    template: flags.template,
    generation: generationFromFlags(flags),
    judges: flags.judge,
    limit: flags.limit,
    concurrency: flags.concurrency,
    bootstrap: flags.bootstrap,
    seed: flags.seed,
    force: flags.force,
    upstream: flags.upstreamEndpoint
      ? {
          endpoint: flags.upstreamEndpoint,
          model: flags.upstreamModel!,
          keyEnv: flags.upstreamKeyEnv,
          maxTokens: flags.upstreamMaxTokens,
          ...draft,
        }
      : undefined,
    judge: flags.judgeEndpoint
      ? {
          endpoint: flags.judgeEndpoint,
          model: flags.judgeModel!,
          keyEnv: flags.judgeKeyEnv,
          maxTokens: flags.judgeMaxTokens,
          promptFile: flags.judgePrompt,
          ...draft,
        }
      : undefined,
  };
}

export function registerEvalCommand(program: Command): void {
  addGenerationFlags(
    program
      .command('eval')
      .description('evaluate an Aligner model: correct JSONL answers, judge the corrections, summarise (docs/eval.md)')
      .option('--model <dir>', 'model folder (default: $ALIGNER_MODEL or the bundled models/default)')
      .requiredOption('--data <files...>', 'JSONL inputs: Q-A-C, upstream outputs, prompts, TruthfulQA')
      .requiredOption('--out <dir>', 'output folder (rows.jsonl, summary.json, summary.md); rerun to resume')
      .option('--judge <list>', 'comma-separated: reference,preference,harmlessness,honesty,llm', judgeListArg)
      .option('--limit <n>', 'first N rows of each file', positiveInt)
      .option('--upstream-endpoint <url>', 'OpenAI-compatible endpoint that answers rows without an answer')
      .option('--upstream-model <name>', 'model name at the upstream endpoint (also the group name)')
      .option('--upstream-key-env <var>', 'environment variable holding the upstream API key')
      .option('--upstream-max-tokens <n>', 'longest upstream answer, in tokens (default 1024)', positiveInt, 1024)
      .option('--judge-endpoint <url>', 'OpenAI-compatible endpoint of the llm judge')
      .option('--judge-model <name>', 'model name at the judge endpoint')
      .option('--judge-key-env <var>', 'environment variable holding the judge API key')
      .option('--judge-prompt <file>', 'judge prompt template with {question}, {answer_a}, {answer_b} (and {context})')
      .option('--judge-max-tokens <n>', 'longest judge reply, in tokens (default 512)', positiveInt, 512)
      .option(
        '--aligner-endpoints',
        'the endpoints are Aligner servers: send an empty assistant draft, as they require',
      )
      .option('--concurrency <n>', 'rows in flight at once (default 4)', positiveInt, 4)
      .option(
        '--bootstrap <n>',
        `bootstrap resamples for the 95% intervals (default ${BOOTSTRAP_RESAMPLES})`,
        nonNegativeInt,
        BOOTSTRAP_RESAMPLES,
      )
      .option('--force', 'discard earlier results in --out and start over')
      .option('--progress-json', 'print progress as JSON lines on stdout')
      .option('--template <name>', 'prompt template: correction, v1.0 or revision', templateArg)
      .option('--threads <n>', 'intra-op threads', intArg)
      .option('--ep <provider>', 'execution provider: cpu, cuda or webgpu', epArg),
  ).action(async (flags: EvalFlags) => {
    const options = evalOptionsFromFlags(flags);
    const json = flags.progressJson === true;
    const emit = (event: object) => process.stdout.write(JSON.stringify(event) + '\n');
    const note = (msg: string) => process.stderr.write(`aligner eval: ${msg}\n`);

    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      note('interrupted: finishing the summary (Ctrl-C again to quit now); rerun with the same --out to resume');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);

    // Each row in flight may queue a correction and two scorings: keep the queue from refusing them.
    const host = new EngineHost({ threads: flags.threads, maxQueue: Math.max(64, 3 * flags.concurrency) });
    try {
      const model = await host.loadModel({ path: flags.model ?? defaultModelDir(), executionProvider: flags.ep });
      if (model.notice) note(model.notice);
      if (isTestModel(model.path)) note('this is a random-weight test model: its corrections are noise');
      let lastPrinted = 0;
      const result = await runEvaluation(options, host, {
        signal: controller.signal,
        log: note,
        onProgress: (p) => {
          if (json) return emit(p);
          const now = Date.now();
          if (now - lastPrinted < 2000 && p.done < p.total) return;
          lastPrinted = now;
          const eta = p.eta_s === null || p.done === p.total ? '' : `, about ${Math.ceil(p.eta_s)} s left`;
          note(`${p.done}/${p.total} rows${p.errors ? ` (${p.errors} failed)` : ''}${eta}`);
        },
      });
      if (json) emit({ event: 'eval-done', summary: result.summaryPath, complete: result.complete });
      else {
        process.stdout.write(`${headline(result.summary).join('\n')}\n\n`);
        note(`wrote ${result.summaryPath}, ${result.summaryMarkdownPath} and ${result.rowsPath}`);
      }
      if (!result.complete) process.exitCode = controller.signal.aborted ? 130 : 1;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
      await host.close();
    }
  });
}
