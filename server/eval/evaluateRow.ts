// One row from start to finish: its upstream answer (when missing), the correction, every judge
// that applies; the result is the row's record for rows.jsonl.
import { randomUUID } from 'node:crypto';
import { EngineError, type AlignerService } from '../engine/api.js';
import { ErrorCodes, type GenerationOptions, type TemplateName } from '../protocol/index.js';
import type { UpstreamAnswers } from './endpoint/upstreamAnswers.js';
import type { Judge, JudgeContext } from './judges/types.js';
import type { AnsweredRow, Correction, EvalRow, JudgeFields, RowRecord } from './types.js';

/** Failures that come from the row itself, so retrying on resume cannot help. */
function isPermanent(err: unknown): boolean {
  return (
    err instanceof EngineError && (err.code === ErrorCodes.ContextOverflow || err.code === ErrorCodes.InvalidParams)
  );
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface RowDeps {
  service: AlignerService;
  judges: readonly Judge[];
  ctx: JudgeContext;
  generation: GenerationOptions;
  upstream?: UpstreamAnswers;
  modelId: string;
  template?: TemplateName;
  signal?: AbortSignal;
}

/** One row start to finish; null when the run was interrupted meanwhile. */
export async function evaluateRow(row: EvalRow, d: RowDeps): Promise<RowRecord | null> {
  const base: RowRecord = {
    id: row.id,
    source: row.source,
    line: row.line,
    kind: row.kind,
    upstream: row.upstream,
    question: row.question,
    ...(row.context ? { context: row.context } : {}),
    ...(row.answer !== undefined ? { answer: row.answer } : {}),
    ...(row.reference !== undefined ? { reference: row.reference } : {}),
  };
  try {
    const answer = row.answer ?? (await d.upstream!.answer(row.question, row.context, d.signal));
    const answered: AnsweredRow = { ...row, answer };
    base.answer = answer;
    const started = performance.now();
    const result = await d.service.correct(
      {
        // Unique per call: two runs over the same rows may share one engine.
        requestId: `eval-${row.id}-${randomUUID().slice(0, 8)}`,
        model: d.modelId,
        question: row.question,
        answer,
        ...(row.context ? { context: row.context } : {}),
        ...(d.template ? { template: d.template } : {}),
        generation: d.generation,
      },
      { signal: d.signal },
    );
    if (result.finishReason === 'cancelled') return null;
    const correction: Correction = {
      text: result.text,
      finishReason: result.finishReason,
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
      latencyMs: performance.now() - started,
      decodeTokensPerSecond: result.timings.decodeTokensPerSecond,
    };
    const applying = d.judges.filter((j) => j.applies(answered));
    const judges: Record<string, JudgeFields> = {};
    const judgeErrors: Record<string, string> = {};
    await Promise.all(
      applying.map(async (j) => {
        try {
          judges[j.name] = await j.judge(answered, correction, d.ctx);
        } catch (err) {
          // A judge that can never succeed on this row is noted; anything else fails the row (retried).
          if (!isPermanent(err)) throw err;
          judgeErrors[j.name] = errorMessage(err);
        }
      }),
    );
    if (d.signal?.aborted) return null;
    return {
      ...base,
      correction: correction.text,
      finishReason: correction.finishReason,
      promptTokens: correction.promptTokens,
      completionTokens: correction.completionTokens,
      latencyMs: correction.latencyMs,
      // Judges in a fixed order, so that records read the same whichever finished first.
      judges: Object.fromEntries(applying.filter((j) => judges[j.name]).map((j) => [j.name, judges[j.name]!])),
      ...(Object.keys(judgeErrors).length ? { judgeErrors } : {}),
    };
  } catch (err) {
    if (d.signal?.aborted) return null;
    return { ...base, error: errorMessage(err), ...(isPermanent(err) ? { permanent: true } : {}) };
  }
}
