// The shapes `aligner export-data` passes around: corrected pairs read from a source, and the rows it
// writes in the conversational formats TRL's SFTTrainer and DPOTrainer read.
import type { ChatTurn } from '../protocol/index.js';

export type ExportFormat = 'sft' | 'dpo';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['sft', 'dpo'];

/** TRL's conversational message: {role, content}. */
export type ChatMessage = ChatTurn;

/** One upstream answer and the correction of it, with the dialogue it answers. */
export interface CorrectedPair {
  /** Earlier turns, then the question as the last user message. */
  prompt: ChatMessage[];
  original: string;
  corrected: string;
}

/** SFT: the prompt and the corrected answer as one conversation. */
export interface SftRow {
  messages: ChatMessage[];
}

/** DPO: the corrected answer preferred over the original one, for the same prompt. */
export interface DpoRow {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}

/** Why a row was left out; each is counted and reported. */
export type SkipReason = 'errored' | 'truncated' | 'incomplete' | 'unchanged' | 'unreadable';
export const SKIP_REASONS: readonly SkipReason[] = ['errored', 'truncated', 'incomplete', 'unchanged', 'unreadable'];

export type SkipCounts = Record<SkipReason, number>;

export const noSkips = (): SkipCounts => ({ errored: 0, truncated: 0, incomplete: 0, unchanged: 0, unreadable: 0 });

/** What a source is: an `aligner eval` run, or rows of question/answer/correction (reviews.jsonl). */
export type SourceKind = 'eval-run' | 'reviews';

export interface SourceRead {
  kind: SourceKind;
  /** The files read, resolved: the output may never be one of them. */
  files: string[];
  pairs: CorrectedPair[];
  skipped: SkipCounts;
}
