// HH-RLHF dialogue text ("\n\nHuman: …\n\nAssistant: …") to chat turns.
import type { ChatTurn } from '../../protocol/index.js';

const SPEAKER = /(?:^|\n\n)(Human|Assistant):[ \t]?/g;

/**
 * Splits an HH-RLHF transcript into turns. Text before the first speaker tag becomes a user turn
 * (a plain-text context). A trailing user turn equal to `question` is dropped: the question is its
 * own slot in the prompt template and must not appear twice.
 */
export function parseHhContext(text: string, question?: string): ChatTurn[] {
  const turns: ChatTurn[] = [];
  const tags = [...text.matchAll(SPEAKER)];
  const lead = text.slice(0, tags[0]?.index ?? text.length).trim();
  if (lead) turns.push({ role: 'user', content: lead });
  tags.forEach((m, i) => {
    const start = m.index + m[0].length;
    const end = tags[i + 1]?.index ?? text.length;
    turns.push({ role: m[1] === 'Human' ? 'user' : 'assistant', content: text.slice(start, end).trim() });
  });
  const last = turns.at(-1);
  if (last && last.role === 'user' && question !== undefined && last.content === question.trim()) turns.pop();
  return turns;
}

/** `context` as found in a row: an HH transcript string, or already a list of {role, content}. */
export function parseContext(value: unknown, question: string): ChatTurn[] | undefined {
  let turns: ChatTurn[] | undefined;
  if (typeof value === 'string') turns = parseHhContext(value, question);
  else if (Array.isArray(value)) {
    turns = value
      .filter((t): t is { role: string; content: string } => typeof t?.content === 'string')
      .map((t) => ({
        role: t.role === 'assistant' || t.role === 'Assistant' ? 'assistant' : 'user',
        content: t.content,
      }));
  }
  return turns && turns.length > 0 ? turns : undefined;
}
