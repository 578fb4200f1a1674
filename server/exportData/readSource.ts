// Reads what `aligner export-data --from` names: an `aligner eval` output folder (or its rows.jsonl),
// or rows of question/answer/correction such as the extension's reviews.jsonl (or the folder that
// holds it). The kind is told from the files and their first record, never from a flag.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseContext } from '../eval/data/hhContext.js';
import { ROWS_FILE, RUN_FILE, SUMMARY_JSON, SUMMARY_MD, latestRecords } from '../eval/store/resume.js';
import { ROW_KINDS, type RowKind, type RowRecord } from '../eval/types.js';
import { noSkips, type ChatMessage, type CorrectedPair, type SkipReason, type SourceRead } from './types.js';

/** The file the extension's "learning from reviews" appends to (extension/learning/reviewLog.ts). */
export const REVIEWS_FILE = 'reviews.jsonl';
/** Every file an eval run writes: none of them may be overwritten by the export. */
const RUN_FILES = [ROWS_FILE, RUN_FILE, SUMMARY_JSON, SUMMARY_MD, 'upstream-cache.jsonl'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEvalRecord = (v: unknown): boolean =>
  isObject(v) && typeof v.id === 'string' && ROW_KINDS.includes(v.kind as RowKind);
const isQacRow = (v: unknown): boolean =>
  isObject(v) && typeof v.question === 'string' && typeof v.answer === 'string' && typeof v.correction === 'string';

/** JSONL values; a line that is not JSON (a torn last line, say) is counted, not fatal. */
function parseJsonl(path: string): { values: unknown[]; bad: number } {
  const values: unknown[] = [];
  let bad = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      values.push(JSON.parse(line));
    } catch {
      bad++;
    }
  }
  return { values, bad };
}

/**
 * Earlier turns, then the question. Adjacent turns of one role are joined, so the prompt alternates
 * and ends with the user: many chat templates (Gemma, Llama 2) reject anything else.
 */
export function promptMessages(question: string, context: unknown): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const turn of [...(parseContext(context, question) ?? []), { role: 'user' as const, content: question }]) {
    const last = out.at(-1);
    if (last?.role === turn.role) last.content = `${last.content}\n\n${turn.content}`;
    else out.push({ ...turn });
  }
  return out;
}

/** An eval row record -> its pair, or why it has none. */
export function evalPair(r: RowRecord): CorrectedPair | SkipReason {
  if (r.error !== undefined) return 'errored';
  // A correction cut at --max-new-tokens is not an answer to prefer or imitate.
  if (r.finishReason === 'length') return 'truncated';
  if (typeof r.question !== 'string' || typeof r.answer !== 'string') return 'incomplete';
  if (typeof r.correction !== 'string' || !r.correction.trim()) return 'incomplete';
  return { prompt: promptMessages(r.question, r.context), original: r.answer, corrected: r.correction };
}

/** A reviews.jsonl (or any Q-A-C) row -> its pair; the rule matches the extension's row count. */
export function reviewPair(v: unknown): CorrectedPair | SkipReason {
  if (!isQacRow(v)) return 'unreadable';
  const r = v as Json & { question: string; answer: string; correction: string };
  if (!r.question.trim() || !r.correction.trim()) return 'incomplete';
  return { prompt: promptMessages(r.question, r.context), original: r.answer, corrected: r.correction };
}

function collect(
  kind: SourceRead['kind'],
  files: string[],
  items: Iterable<CorrectedPair | SkipReason>,
  bad: number,
): SourceRead {
  const read: SourceRead = { kind, files, pairs: [], skipped: noSkips() };
  read.skipped.unreadable = bad;
  for (const item of items) {
    if (typeof item === 'string') read.skipped[item]++;
    else read.pairs.push(item);
  }
  return read;
}

function readEvalRows(rowsPath: string, files: string[]): SourceRead {
  const { values, bad } = parseJsonl(rowsPath);
  const records = values.filter(isEvalRecord) as RowRecord[];
  // A retried row appears again further down; its latest record is the one that counts.
  const latest = [...latestRecords(records).values()];
  return collect('eval-run', files, latest.map(evalPair), bad + values.length - records.length);
}

function readReviews(path: string): SourceRead {
  const { values, bad } = parseJsonl(path);
  return collect('reviews', [path], values.map(reviewPair), bad);
}

/** Reads the source, or throws a one-line error that says what was expected. */
export function readSource(from: string): SourceRead {
  const path = resolve(from);
  if (!existsSync(path)) throw new Error(`--from ${from}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, ROWS_FILE))) {
      return readEvalRows(
        join(path, ROWS_FILE),
        RUN_FILES.map((f) => join(path, f)),
      );
    }
    if (existsSync(join(path, REVIEWS_FILE))) return readReviews(join(path, REVIEWS_FILE));
    throw new Error(`--from ${from}: the folder has neither ${ROWS_FILE} (an aligner eval run) nor ${REVIEWS_FILE}`);
  }
  const first = parseJsonl(path).values[0];
  if (first === undefined) throw new Error(`--from ${from}: no JSON rows in the file`);
  if (isEvalRecord(first)) return readEvalRows(path, [path]);
  if (isQacRow(first)) return readReviews(path);
  throw new Error(
    `--from ${from}: not an eval run's ${ROWS_FILE} (rows with id and kind) nor a ${REVIEWS_FILE} ` +
      '(rows with question, answer and correction)',
  );
}
