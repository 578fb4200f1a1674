// What @aligner does with one chat request, without vscode: the participant (chatParticipant.ts)
// supplies the user's language model and the server, tests supply fakes.
import type { ChatTurn, FinishReason } from '../server/protocol/index.js';
import { changeSummary, historyTurns, lastExchange, type TurnLike } from './chatSummary.js';
import { findLastAnswer, inferQuestion } from './questionInference.js';

export interface ChatStreamLike {
  progress(message: string): void;
  markdown(text: string): void;
}

export interface ChatFlowDeps {
  /** The user's selected model, or null when none is available. */
  model: { name: string; draft(turns: ChatTurn[], prompt: string): Promise<AsyncIterable<string>> } | null;
  /** Corrects with the Aligner server, streaming deltas. */
  correct(
    input: { question: string; answer: string; context: ChatTurn[] },
    onDelta: (delta: string) => void,
  ): Promise<{ text: string; finishReason: FinishReason }>;
  isCancelled(): boolean;
}

export interface ChatFlowResult {
  metadata?: { draft: string; corrected: string };
  error?: string;
}

export const NO_MODEL_MESSAGE =
  'No language model is available to draft an answer. Install or sign in to a chat model provider, or use `/correct` with your own text.';
export const NOTHING_TO_CORRECT =
  'There is no previous answer to correct. Ask a question first, or write the text after `/correct` (e.g. `Q: … A: …`).';

/** `/correct` target: the text after the command (a Q/A or transcript gives its own question), else the last answer. */
export function correctTarget(
  prompt: string,
  history: readonly TurnLike[],
): { question: string; answer: string; context: ChatTurn[] } | null {
  const text = prompt.trim();
  if (!text) return lastExchange(history);
  const span = findLastAnswer(text);
  if (span) {
    const q = inferQuestion(text, span.start, span.end);
    if (q) return { question: q.question, answer: text.slice(span.start, span.end), context: q.context };
  }
  const last = lastExchange(history);
  return { question: last?.question ?? '', answer: text, context: last?.context ?? [] };
}

export async function runChatRequest(
  deps: ChatFlowDeps,
  request: { prompt: string; command?: string },
  history: readonly TurnLike[],
  stream: ChatStreamLike,
): Promise<ChatFlowResult> {
  let target: { question: string; answer: string; context: ChatTurn[] } | null;
  if (request.command === 'correct') {
    target = correctTarget(request.prompt, history);
    if (!target) {
      stream.markdown(NOTHING_TO_CORRECT);
      return {};
    }
  } else {
    if (!deps.model) {
      stream.markdown(NO_MODEL_MESSAGE);
      return {};
    }
    const context = historyTurns(history);
    stream.progress(`Drafting an answer with ${deps.model.name}…`);
    let draft = '';
    for await (const chunk of await deps.model.draft(context, request.prompt)) draft += chunk;
    if (deps.isCancelled()) return {};
    target = { question: request.prompt, answer: draft, context };
  }
  stream.progress('Correcting with Aligner…');
  const result = await deps.correct(target, (d) => stream.markdown(d));
  if (result.finishReason === 'cancelled') return {};
  stream.markdown(changeSummary(target.answer, result.text));
  return { metadata: { draft: target.answer, corrected: result.text } };
}
