// Messages between EngineHost (main thread) and the engine worker.
import type { ExecutionProvider, ModelInfo, ModelRole } from '../protocol/index.js';
import type { CorrectionInput, ScoreInput } from './api.js';
import type { EngineOptions, SequenceResult } from './engine.js';

export type HostToWorker =
  | {
      type: 'load';
      callId: number;
      path: string;
      id?: string;
      executionProvider?: ExecutionProvider;
      makeDefault?: boolean;
      role?: ModelRole;
      chatTemplatePath?: string;
    }
  | { type: 'unload'; callId: number; id: string }
  | { type: 'correct'; callId: number; input: CorrectionInput }
  | { type: 'score'; callId: number; input: ScoreInput }
  | { type: 'cancel'; callId: number }
  | { type: 'close'; callId: number };

export interface WorkerError {
  code: number;
  message: string;
  data?: unknown;
}

export interface EngineState {
  models: ModelInfo[];
  defaultModel: string | null;
  queueLength: number;
  running: number;
}

export type WorkerToHost =
  | { type: 'reply'; callId: number; ok: true; value: unknown }
  | { type: 'reply'; callId: number; ok: false; error: WorkerError }
  | { type: 'delta'; callId: number; delta: string; tokens: number }
  | { type: 'started'; callId: number; model: string; promptTokens: number }
  | { type: 'state'; state: EngineState };

export interface WorkerData {
  options: EngineOptions;
  /** URL of worker.ts when started through the tsx bootstrap. */
  entry: string;
}

export type CorrectionReply = SequenceResult & { model: string };
