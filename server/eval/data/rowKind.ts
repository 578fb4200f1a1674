// Recognises what a JSONL row is from its fields, and lifts it into an EvalRow's fields.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EvalRow, RowKind } from '../types.js';
import { parseContext } from './hhContext.js';

const Str = z.string();
const StrList = z.array(z.string());

// Loose on purpose: unknown fields (ids, topics, subsets) are kept out, not refused.
const RawRowSchema = z.object({
  question: Str,
  answer: Str.optional(),
  correction: Str.optional(),
  upstream: Str.optional(),
  context: z.unknown().optional(),
  best_answer: Str.optional(),
  correct_answers: StrList.optional(),
  incorrect_answers: StrList.optional(),
});
type RawRow = z.infer<typeof RawRowSchema>;

export function detectKind(
  raw: Pick<RawRow, 'answer' | 'correction' | 'correct_answers' | 'incorrect_answers'>,
): RowKind {
  if (raw.correct_answers && raw.incorrect_answers) return 'truthfulqa';
  if (raw.answer !== undefined && raw.correction !== undefined) return 'qac';
  if (raw.answer !== undefined) return 'upstream';
  return 'prompt';
}

/** Stable across runs and machines: the same file label, line and question give the same id. */
export function rowId(source: string, line: number, question: string): string {
  return createHash('sha256').update(`${source}\n${line}\n${question}`).digest('hex').slice(0, 16);
}

export interface RowSource {
  /** Label of the file (see EvalRow.source). */
  source: string;
  /** Group name for rows without an `upstream` field: the file name without extension. */
  fileStem: string;
  /** Model of the upstream endpoint, the group of rows whose answer it writes. */
  upstreamModel?: string;
}

/** One parsed JSON value to an EvalRow, or a reason why it is not one. */
export function toEvalRow(value: unknown, line: number, src: RowSource): EvalRow | { invalid: string } {
  const parsed = RawRowSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { invalid: `${issue.path.join('.') || '(row)'}: ${issue.message}` };
  }
  const raw = parsed.data;
  const kind = detectKind(raw);
  const answeredByEndpoint = raw.answer === undefined && src.upstreamModel !== undefined;
  const row: EvalRow = {
    id: rowId(src.source, line, raw.question),
    source: src.source,
    line,
    kind,
    upstream: answeredByEndpoint ? src.upstreamModel! : (raw.upstream ?? src.fileStem),
    question: raw.question,
  };
  const context = parseContext(raw.context, raw.question);
  if (context) row.context = context;
  if (raw.answer !== undefined) row.answer = raw.answer;
  if (kind === 'qac') row.reference = raw.correction;
  if (kind === 'truthfulqa') {
    const correct = [...raw.correct_answers!];
    // TruthfulQA's best answer is normally among the correct ones; make sure of it.
    if (raw.best_answer && !correct.includes(raw.best_answer)) correct.unshift(raw.best_answer);
    row.truthful = { correct, incorrect: [...raw.incorrect_answers!] };
  }
  return row;
}
