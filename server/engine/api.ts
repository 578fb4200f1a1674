// What the transports (WebSocket JSON-RPC, OpenAI HTTP) and the CLI need from the engine.
// Implemented by EngineHost, which runs the ONNX engine in a worker thread so that inference
// never blocks the server's event loop (onnxruntime-node's run() holds the calling thread).
import type {
  ChatTurn,
  ScoreResult,
  CorrectResult,
  ErrorCode,
  GenerationOptions,
  HealthResult,
  ModelInfo,
  ModelsListResult,
  ModelsLoadParams,
  ServerInfo,
  TemplateName,
} from '../protocol/index.js';
import type { ChatMessage } from './chatTemplate.js';

export interface CorrectionInput {
  requestId: string;
  model?: string;
  question: string;
  answer: string;
  context?: ChatTurn[];
  template?: TemplateName;
  generation?: GenerationOptions;
  /**
   * Generation that is not an Aligner correction (question, answer, context and template are then
   * unused): a chat model answering `messages` through its own chat template, or a raw prompt as
   * OpenAI's /v1/completions sends it.
   */
  prompt?: PromptSource;
}

export type PromptSource = { kind: 'chat'; messages: ChatMessage[] } | { kind: 'raw'; text: string };

export interface ScoreInput {
  model?: string;
  question: string;
  answer: string;
  context?: ChatTurn[];
  template?: TemplateName;
  /** The text whose likelihood as the correction is measured (EOS is appended). */
  continuation: string;
}

export interface CorrectionCallbacks {
  /** Called with each text delta, in order; deltas never split a UTF-8 character. */
  onDelta?: (delta: string, index: number) => void;
  /** Aborting cancels at the next step boundary (prefill is chunked, so that is soon). */
  signal?: AbortSignal;
}

export interface AlignerService {
  info(): ServerInfo;
  health(): HealthResult;
  listModels(): ModelsListResult;
  loadModel(params: ModelsLoadParams): Promise<ModelInfo>;
  unloadModel(id: string): Promise<boolean>;
  /** Resolves with finishReason 'cancelled' when aborted; rejects with EngineError on bad input. */
  correct(input: CorrectionInput, callbacks?: CorrectionCallbacks): Promise<CorrectResult>;
  /** Log-likelihood of `continuation` as the model's correction (preference judging). */
  score(input: ScoreInput): Promise<ScoreResult>;
  close(): Promise<void>;
}

/** An error the engine raises on purpose; `code` maps straight to a JSON-RPC error code. */
export class EngineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}
