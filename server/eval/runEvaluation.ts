// The evaluation run: read the inputs, fetch missing upstream answers, correct every answer with
// the Aligner (bounded concurrency; the engine batches what is in flight), judge each correction,
// append one record per row to rows.jsonl, then write summary.json and summary.md.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import type { AlignerService } from '../engine/api.js';
import type { GenerationOptions, TemplateName } from '../protocol/index.js';
import { readInputs } from './data/readInputs.js';
import { BOOTSTRAP_RESAMPLES } from './metrics/bootstrap.js';
import type { EndpointOptions } from './endpoint/chatClient.js';
import { UPSTREAM_CACHE_FILE, UpstreamAnswers } from './endpoint/upstreamAnswers.js';
import { loadJudgePrompt } from './judges/llmPrompt.js';
import { buildJudges, defaultJudges, type JudgeEndpointOptions } from './judges/registry.js';
import type { JudgeContext, SelectableJudge } from './judges/types.js';
import { evaluateRow } from './evaluateRow.js';
import { runPool } from './pool.js';
import { ProgressTracker, type EvalProgress } from './progress.js';
import { JsonlAppender } from './store/jsonlFile.js';
import {
  ROWS_FILE,
  SUMMARY_JSON,
  SUMMARY_MD,
  hasResult,
  loadRecords,
  pendingRows,
  prepareOutDir,
} from './store/resume.js';
import { renderSummaryMarkdown } from './summary/markdown.js';
import { summarizeGroups } from './summary/summarize.js';
import type { EvalSummary } from './summary/types.js';

export interface EvalOptions {
  /** JSONL input files. */
  data: string[];
  outDir: string;
  /** Engine model id; the service's default model when undefined. */
  model?: string;
  template?: TemplateName;
  /** Greedy (temperature 0) unless set otherwise. */
  generation?: GenerationOptions;
  /** Judges besides the always-on basic and speed; default: all that need no endpoint, plus llm with one. */
  judges?: SelectableJudge[];
  /** First N rows of each file. */
  limit?: number;
  /** Rows in flight at once (default 4). */
  concurrency?: number;
  /** Bootstrap resamples for the 95% intervals (default BOOTSTRAP_RESAMPLES). */
  bootstrap?: number;
  /** Bootstrap seed (default: generation.seed, else 0). */
  seed?: number;
  /** Discard rows.jsonl and start over. */
  force?: boolean;
  /** Endpoint that answers rows without an answer. */
  upstream?: EndpointOptions;
  /** Endpoint of the llm judge. */
  judge?: JudgeEndpointOptions;
}

export interface EvalCallbacks {
  onProgress?: (p: EvalProgress) => void;
  /** Aborting stops the run: rows in flight are dropped (a rerun does them), the summary is written. */
  signal?: AbortSignal;
  /** Human-readable notices (row failures, resume counts). */
  log?: (message: string) => void;
}

export interface EvalResult {
  summary: EvalSummary;
  summaryPath: string;
  summaryMarkdownPath: string;
  rowsPath: string;
  complete: boolean;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** What must not change between a run and its resumption (it changes the rows' results). */
function runSettings(
  o: EvalOptions,
  modelPath: string | null,
  modelId: string,
  judges: SelectableJudge[],
  generation: GenerationOptions,
) {
  // Greedy decoding ignores the seed, which then only seeds the bootstrap (summary-only).
  const { seed, ...rest } = generation;
  return {
    model: modelPath ?? modelId,
    template: o.template ?? null,
    generation: generation.temperature === 0 ? rest : { ...rest, seed },
    judges: [...judges].sort(),
    upstreamModel: o.upstream?.model ?? null,
    upstreamMaxTokens: o.upstream?.maxTokens ?? null,
    judgeModel: judges.includes('llm') ? (o.judge?.model ?? null) : null,
    judgeMaxTokens: judges.includes('llm') ? (o.judge?.maxTokens ?? null) : null,
    judgePrompt: judges.includes('llm') ? sha(loadJudgePrompt(o.judge?.promptFile)) : null,
  };
}

export async function runEvaluation(
  options: EvalOptions,
  service: AlignerService,
  callbacks: EvalCallbacks = {},
): Promise<EvalResult> {
  const { signal, log = () => {} } = callbacks;
  if (options.data.length === 0) throw new Error('no --data files given');
  if (new Set(options.data.map((f) => resolve(f))).size !== options.data.length) {
    throw new Error('the same --data file is given twice');
  }
  const listed = service.listModels();
  const modelId = options.model ?? listed.defaultModel;
  const modelInfo = listed.models.find((m) => m.id === modelId);
  if (!modelId || !modelInfo)
    throw new Error(options.model ? `model ${options.model} is not loaded` : 'no model is loaded');

  const judgeNames = options.judges ?? defaultJudges(options.judge !== undefined);
  const judges = buildJudges(judgeNames, options.judge);
  const generation: GenerationOptions = { temperature: 0, ...options.generation };
  const bootstrap = options.bootstrap ?? BOOTSTRAP_RESAMPLES;
  const seed = options.seed ?? generation.seed ?? 0;
  const concurrency = Math.max(1, options.concurrency ?? 4);

  const { rows, inputs } = await readInputs(options.data, {
    limit: options.limit,
    upstreamModel: options.upstream?.model,
  });
  const unanswered = rows.filter((r) => r.answer === undefined);
  if (unanswered.length > 0 && !options.upstream) {
    const files = [...new Set(unanswered.map((r) => r.source))].join(', ');
    throw new Error(
      `${unanswered.length} rows have no answer (${files}): give an upstream endpoint (--upstream-endpoint, --upstream-model)`,
    );
  }

  const outDir = resolve(options.outDir);
  prepareOutDir(outDir, runSettings(options, modelInfo.path, modelId, judgeNames, generation), options.force ?? false);
  const { byId, badLines } = loadRecords(outDir);
  if (badLines > 0)
    log(`${ROWS_FILE}: skipped ${badLines} unreadable line(s) (an interrupted write); those rows run again`);
  const pending = pendingRows(rows, byId);
  if (pending.length < rows.length)
    log(`resuming: ${rows.length - pending.length} of ${rows.length} rows already done`);

  const upstream =
    options.upstream && unanswered.length > 0
      ? new UpstreamAnswers(options.upstream, join(outDir, UPSTREAM_CACHE_FILE))
      : undefined;
  const rowsFile = new JsonlAppender(join(outDir, ROWS_FILE));
  const progress = new ProgressTracker(rows.length, rows.length - pending.length);
  callbacks.onProgress?.(progress.snapshot());
  const ctx: JudgeContext = { service, model: modelId, template: options.template, signal };

  try {
    await runPool(
      pending,
      concurrency,
      async (row) => {
        const record = await evaluateRow(row, {
          service,
          judges,
          ctx,
          generation,
          upstream,
          modelId,
          template: options.template,
          signal,
        });
        // An interrupted row is not recorded: the rerun does it in full.
        if (record === null) return;
        if (record.error !== undefined) log(`row ${row.source}:${row.line} failed: ${record.error}`);
        rowsFile.append(record);
        byId.set(record.id, record);
        progress.rowFinished(record.error !== undefined);
        callbacks.onProgress?.(progress.snapshot());
      },
      signal,
    );
  } finally {
    rowsFile.close();
    upstream?.close();
  }

  const remaining = pendingRows(rows, byId).length;
  const summary: EvalSummary = {
    version: 1,
    complete: remaining === 0,
    model: { id: modelId, path: modelInfo.path ?? null },
    settings: {
      judges: judges.map((j) => j.name),
      template: options.template ?? null,
      generation,
      upstreamModel: options.upstream?.model ?? null,
      judgeModel: judgeNames.includes('llm') ? (options.judge?.model ?? null) : null,
      bootstrap,
      seed,
      limit: options.limit ?? null,
    },
    inputs,
    counts: {
      rows: rows.length,
      evaluated: rows.filter((r) => hasResult(byId.get(r.id))).length,
      errors: rows.filter((r) => byId.get(r.id)?.error !== undefined).length,
      pending: remaining,
    },
    groups: summarizeGroups(rows, byId, judges, { resamples: bootstrap, seed }),
  };
  const summaryPath = join(outDir, SUMMARY_JSON);
  const summaryMarkdownPath = join(outDir, SUMMARY_MD);
  writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(summaryMarkdownPath, renderSummaryMarkdown(summary) + '\n');
  return { summary, summaryPath, summaryMarkdownPath, rowsPath: join(outDir, ROWS_FILE), complete: summary.complete };
}
