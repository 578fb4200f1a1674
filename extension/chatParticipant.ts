// @aligner in the chat view: VS Code glue around chatFlow.ts. A plain prompt is answered by the
// user's selected language model and streamed back corrected by Aligner, followed by what changed;
// `/correct` corrects the previous answer (or the text written after it).
import * as vscode from 'vscode';
import { randomUUID } from 'node:crypto';
import { correctionOptions, type AlignerSettings } from './config.js';
import type { AlignerConnection } from './serverClient.js';
import type { Logger } from './serverProcess.js';
import { runChatRequest, type ChatFlowDeps } from './chatFlow.js';
import type { TurnLike } from './chatSummary.js';

export const PARTICIPANT_ID = 'aligner.chat';

export interface ChatDeps {
  log: Logger;
  settings(): AlignerSettings;
  connection(): Promise<AlignerConnection>;
  iconPath: vscode.Uri;
}

export function registerChatParticipant(deps: ChatDeps): vscode.Disposable {
  const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, (request, context, stream, token) =>
    handle(deps, request, context, stream, token),
  );
  participant.iconPath = deps.iconPath;
  return participant;
}

async function handle(
  deps: ChatDeps,
  request: vscode.ChatRequest,
  context: vscode.ChatContext,
  stream: vscode.ChatResponseStream,
  token: vscode.CancellationToken,
): Promise<vscode.ChatResult> {
  const lm = request.model ?? (await vscode.lm.selectChatModels())[0];
  const flow: ChatFlowDeps = {
    model: lm
      ? {
          name: lm.name,
          draft: async (turns, prompt) => {
            const messages = [
              ...turns.map((t) =>
                t.role === 'user'
                  ? vscode.LanguageModelChatMessage.User(t.content)
                  : vscode.LanguageModelChatMessage.Assistant(t.content),
              ),
              vscode.LanguageModelChatMessage.User(prompt),
            ];
            return (await lm.sendRequest(messages, {}, token)).text;
          },
        }
      : null,
    correct: async (input, onDelta) => {
      const conn = await deps.connection();
      const settings = deps.settings();
      const requestId = randomUUID();
      const onCancel = token.onCancellationRequested(() => void conn.cancel(requestId).catch(() => undefined));
      try {
        return await conn.correct(
          {
            requestId,
            question: input.question,
            answer: input.answer,
            ...correctionOptions(settings),
            ...(input.context.length ? { context: input.context.slice(-50) } : {}),
          },
          (d) => onDelta(d.delta),
        );
      } finally {
        onCancel.dispose();
      }
    },
    isCancelled: () => token.isCancellationRequested,
  };
  try {
    return await runChatRequest(flow, request, context.history as unknown as TurnLike[], stream);
  } catch (err) {
    const message =
      err instanceof vscode.LanguageModelError
        ? `The language model refused: ${err.message}`
        : err instanceof Error
          ? err.message
          : String(err);
    deps.log.error(`chat: ${message}`);
    stream.markdown(`**Aligner error:** ${message}`);
    return { errorDetails: { message } };
  }
}
