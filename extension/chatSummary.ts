// Pure helpers for the @aligner chat participant: reading the chat history (duck-typed, so tests
// need no vscode) and summarising what the correction changed as markdown.
import { computeHunks } from './review/hunks.js';
import type { ChatTurn } from '../server/protocol/index.js';

/** The shapes of vscode.ChatRequestTurn / ChatResponseTurn this module reads. */
export interface RequestTurnLike {
  prompt: string;
  command?: string;
}
export interface ResponseTurnLike {
  response: ReadonlyArray<unknown>;
  result?: { metadata?: Record<string, unknown> };
}
export type TurnLike = RequestTurnLike | ResponseTurnLike;

const isRequest = (t: TurnLike): t is RequestTurnLike => typeof (t as RequestTurnLike).prompt === 'string';

/** The markdown text of a response turn (only its markdown parts: the answer itself). */
export function responseText(turn: ResponseTurnLike): string {
  let out = '';
  for (const part of turn.response) {
    const v = (part as { value?: unknown }).value;
    if (typeof v === 'string') out += v;
    else if (v && typeof (v as { value?: unknown }).value === 'string') out += (v as { value: string }).value;
  }
  return out;
}

/** A response's own answer: the corrected text we stored in metadata, else its markdown minus our summary. */
export function answerOf(turn: ResponseTurnLike): string {
  const meta = turn.result?.metadata;
  if (meta && typeof meta.corrected === 'string') return meta.corrected;
  return responseText(turn).split(SUMMARY_MARKER)[0]!.trim();
}

/** The chat history as dialogue turns, oldest first (what the language model and Aligner see). */
export function historyTurns(history: ReadonlyArray<TurnLike>): ChatTurn[] {
  const turns: ChatTurn[] = [];
  for (const t of history) {
    const content = isRequest(t) ? t.prompt : answerOf(t);
    if (content.trim()) turns.push({ role: isRequest(t) ? 'user' : 'assistant', content });
  }
  return turns;
}

/** The last answered exchange: the question and the answer to correct with `/correct`. */
export function lastExchange(
  history: ReadonlyArray<TurnLike>,
): { question: string; answer: string; context: ChatTurn[] } | null {
  const turns = historyTurns(history);
  for (let i = turns.length - 1; i > 0; i--) {
    if (turns[i]!.role === 'assistant' && turns[i - 1]!.role === 'user') {
      return { question: turns[i - 1]!.content, answer: turns[i]!.content, context: turns.slice(0, i - 1) };
    }
  }
  return null;
}

/** Heading that separates the corrected answer from the change summary. */
export const SUMMARY_MARKER = '\n\n---\n**What Aligner changed**';

/** Inline code that survives backticks inside the text. */
export function inlineCode(text: string): string {
  const one = text.replace(/\r?\n/g, '⏎');
  const longest = Math.max(0, ...(one.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = one.startsWith('`') || one.endsWith('`') || one.startsWith(' ') || one.endsWith(' ') ? ' ' : '';
  return `${fence}${pad}${one}${pad}${fence}`;
}

export function changeSummary(draft: string, corrected: string, maxItems = 20): string {
  const hunks = computeHunks(draft, corrected, 'word');
  if (hunks.length === 0) return `${SUMMARY_MARKER}\n\nNothing: the draft already looked right to Aligner.`;
  // Surrounding spaces carry no meaning in a summary line; a change of spacing alone shows as ␣.
  const shown = (t: string) => inlineCode(t.trim() || t.replace(/ /g, '␣'));
  const lines = hunks.slice(0, maxItems).map((h) => {
    if (!h.oldText) return `- added ${shown(h.newText)}`;
    if (!h.newText) return `- removed ${shown(h.oldText)}`;
    return `- ${shown(h.oldText)} → ${shown(h.newText)}`;
  });
  if (hunks.length > maxItems) lines.push(`- … and ${hunks.length - maxItems} more`);
  return `${SUMMARY_MARKER} (${hunks.length} change${hunks.length === 1 ? '' : 's'})\n\n${lines.join('\n')}`;
}
