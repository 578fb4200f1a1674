// The shapes the evaluation passes around: input rows (read from JSONL) and row records (one line
// of rows.jsonl each).
import type { ChatTurn, FinishReason } from '../protocol/index.js';

/**
 * What a JSONL row is, from its fields:
 * - qac: question, answer, correction (a reference correction; HH-RLHF: chosen vs rejected answer)
 * - upstream: question, answer (an upstream model's output, no reference)
 * - truthfulqa: question, correct_answers[], incorrect_answers[] (answer optional)
 * - prompt: question only (the answer comes from the upstream endpoint)
 */
export type RowKind = 'qac' | 'upstream' | 'truthfulqa' | 'prompt';
export const ROW_KINDS: readonly RowKind[] = ['qac', 'upstream', 'truthfulqa', 'prompt'];

export interface TruthfulRefs {
  correct: string[];
  incorrect: string[];
}

export interface EvalRow {
  /** Stable id: hash of source + line + question (see rowId). */
  id: string;
  /** Label of the input file (its base name, or its path when two inputs share a base name). */
  source: string;
  /** 1-based line number in the file. */
  line: number;
  kind: RowKind;
  /** Group name: the row's `upstream` field, the upstream endpoint's model, or the file name. */
  upstream: string;
  question: string;
  context?: ChatTurn[];
  /** Missing until the upstream endpoint answers (prompt rows). */
  answer?: string;
  /** The row's `correction` field. */
  reference?: string;
  truthful?: TruthfulRefs;
}

/** A row with its answer known. */
export type AnsweredRow = EvalRow & { answer: string };

/** The Aligner's output for one row. */
export interface Correction {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** Wall time of the correct() call (queueing included). */
  latencyMs: number;
  /** Engine-reported decode speed. */
  decodeTokensPerSecond: number;
}

/** Per-judge fields of a row: plain JSON. */
export type JudgeFields = Record<string, unknown>;

/** One line of rows.jsonl. */
export interface RowRecord {
  id: string;
  source: string;
  line: number;
  kind: RowKind;
  upstream: string;
  question: string;
  context?: ChatTurn[];
  answer?: string;
  reference?: string;
  correction?: string;
  finishReason?: FinishReason;
  promptTokens?: number;
  completionTokens?: number;
  latencyMs?: number;
  /** Judge name -> its fields, for the judges that applied. */
  judges?: Record<string, JudgeFields>;
  /** Judges that applied but failed for good on this row (e.g. scoring past the context window). */
  judgeErrors?: Record<string, string>;
  /** Set when the row failed; it is left out of the metrics and retried on resume unless permanent. */
  error?: string;
  /** The failure is the row's own (it does not fit the model's context): a rerun would fail again. */
  permanent?: boolean;
}
