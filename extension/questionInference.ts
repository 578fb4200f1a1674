// Finds the question an answer was written for, from the text around it. Pure (no vscode).
// Recognises chat transcripts ("User:/Assistant:", "Human:/Assistant:", markdown "**User:**",
// "### Assistant") and Q/A headers ("Q:"/"Question:" ... "A:"/"Answer:").
import type { ChatTurn } from '../server/protocol/index.js';

export type TurnRole = 'user' | 'assistant';

export interface Segment {
  role: TurnRole;
  /** 'transcript' for speaker names, 'header' for Q:/A: style markers. */
  style: 'transcript' | 'header';
  markerStart: number;
  contentStart: number;
  contentEnd: number;
}

const USER_TRANSCRIPT = ['user', 'human', 'you', 'me', 'prompt'];
const ASSISTANT_TRANSCRIPT = [
  'assistant',
  'ai',
  'bot',
  'model',
  'chatgpt',
  'gpt',
  'claude',
  'gemini',
  'llm',
  'response',
];
const USER_HEADER = ['q', 'question'];
const ASSISTANT_HEADER = ['a', 'answer'];
const ALL = [...USER_TRANSCRIPT, ...ASSISTANT_TRANSCRIPT, ...USER_HEADER, ...ASSISTANT_HEADER];

// A marker at the start of a line: optional markdown heading / bold / list bullet, a known speaker,
// then a colon (or, for headings, the end of the line). Case-insensitive.
const NAMES = ALL.join('|');
const MARKER = new RegExp(
  String.raw`^[ \t]*(?:[-*>][ \t]+)?(?:(#{1,6})[ \t]*)?(\*\*|__)?(${NAMES})(?:\2)?[ \t]*(?::(?:\2)?|(?=[ \t]*$))[ \t]*`,
  'gim',
);

export function parseSegments(text: string): Segment[] {
  const found: Omit<Segment, 'contentEnd'>[] = [];
  for (const m of text.matchAll(MARKER)) {
    const heading = m[1];
    const name = m[3]!.toLowerCase();
    const hasColon = m[0].includes(':');
    if (!hasColon && !heading) continue; // a bare word on its own line is not a marker
    const role: TurnRole = USER_TRANSCRIPT.includes(name) || USER_HEADER.includes(name) ? 'user' : 'assistant';
    const style = USER_HEADER.includes(name) || ASSISTANT_HEADER.includes(name) ? 'header' : 'transcript';
    let contentStart = m.index! + m[0].length;
    if (!hasColon && text[contentStart] === '\n') contentStart++; // heading: content starts on the next line
    found.push({ role, style, markerStart: m.index!, contentStart });
  }
  return found.map((s, i) => ({ ...s, contentEnd: i + 1 < found.length ? found[i + 1]!.markerStart : text.length }));
}

export interface InferredQuestion {
  question: string;
  /** Earlier turns before the question, oldest first (for transcripts). */
  context: ChatTurn[];
  source: 'transcript' | 'header';
}

/**
 * The question for the answer at [selStart, selEnd): the last user turn (or Q: header) that starts
 * before the selection. Its text stops at the next marker or at the selection, whichever is first.
 * Returns null when the text has no such marker: the caller then asks the user.
 */
export function inferQuestion(text: string, selStart: number, _selEnd: number = selStart): InferredQuestion | null {
  const segments = parseSegments(text);
  let idx = -1;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.role === 'user' && s.contentStart <= selStart) idx = i;
  }
  if (idx < 0) return null;
  const seg = segments[idx]!;
  const question = text.slice(seg.contentStart, Math.min(seg.contentEnd, selStart)).trim();
  if (!question) return null;
  const context: ChatTurn[] = segments
    .slice(0, idx)
    .map((s) => ({ role: s.role, content: text.slice(s.contentStart, s.contentEnd).trim() }))
    .filter((t) => t.content.length > 0);
  return { question, context, source: seg.style };
}

/**
 * The last answer in a transcript or Q/A document, for "Correct Document": the last assistant turn
 * that follows a user turn, trimmed of surrounding blank space. Null when there is none.
 */
export function findLastAnswer(text: string): { start: number; end: number } | null {
  const segments = parseSegments(text);
  for (let i = segments.length - 1; i > 0; i--) {
    const s = segments[i]!;
    if (s.role !== 'assistant' || !segments.slice(0, i).some((p) => p.role === 'user')) continue;
    return trimSpan(text, s.contentStart, s.contentEnd);
  }
  return null;
}

/** If a selection begins with an assistant marker ("Assistant: ..."), correct only what follows it. */
export function stripLeadingMarker(text: string, start: number, end: number): { start: number; end: number } {
  const seg = parseSegments(text).find((s) => s.role === 'assistant' && s.markerStart >= start && s.markerStart < end);
  if (seg && text.slice(start, seg.markerStart).trim() === '' && seg.contentStart < end)
    return trimSpan(text, seg.contentStart, end);
  return { start, end };
}

export function trimSpan(text: string, start: number, end: number): { start: number; end: number } {
  while (start < end && /\s/.test(text[start]!)) start++;
  while (end > start && /\s/.test(text[end - 1]!)) end--;
  return { start, end };
}
