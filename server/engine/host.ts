// EngineHost: the AlignerService the transports and the CLI use. It owns the engine worker thread
// and mirrors its state, so health and model lists answer at once even while the worker computes.
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, PROTOCOL_VERSION } from '../protocol/index.js';
import type {
  CorrectResult,
  ExecutionProvider,
  HealthResult,
  ModelInfo,
  ModelsListResult,
  ModelsLoadParams,
  ScoreResult,
  ServerInfo,
} from '../protocol/index.js';
import { EngineError } from './api.js';
import type { AlignerService, CorrectionCallbacks, CorrectionInput, ScoreInput } from './api.js';
import type { EngineOptions } from './engine.js';
import { availableExecutionProviders } from './executionProviders.js';
import { SERVER_VERSION } from './version.js';
import type { CorrectionReply, EngineState, HostToWorker, WorkerData, WorkerToHost } from './workerMessages.js';

export interface EngineHostOptions extends Partial<EngineOptions> {
  executionProvider?: ExecutionProvider;
}

type WithoutCallId<T> = T extends unknown ? Omit<T, 'callId'> : never;

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (err: EngineError) => void;
  onDelta?: (delta: string, tokens: number) => void;
  onStarted?: (model: string, promptTokens: number) => void;
}

/** Threads for one session: all cores up to 4 (measured: more brings nothing at batch 1 on small models). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export class EngineHost implements AlignerService {
  private readonly worker: Worker;
  private readonly calls = new Map<number, PendingCall>();
  private nextCallId = 1;
  private state: EngineState = { models: [], defaultModel: null, queueLength: 0, running: 0 };
  private loading = 0;
  private lastError: string | null = null;
  private closed = false;
  readonly options: EngineOptions;
  readonly notices: string[] = [];

  constructor(opts: EngineHostOptions = {}) {
    this.options = {
      threads: opts.threads ?? defaultThreads(),
      maxBatch: opts.maxBatch ?? 16,
      maxQueue: opts.maxQueue ?? 64,
      prefillChunk: opts.prefillChunk ?? 128,
      speculationMaxBatch: opts.speculationMaxBatch ?? 4,
    };
    // Under tsx (tests, dev) the worker is the .ts source; compiled, it is the .js beside this file.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const entry = new URL(`./worker${ext}`, import.meta.url);
    this.worker = new Worker(ext === '.ts' ? new URL('./tsWorkerBootstrap.mjs', import.meta.url) : entry, {
      workerData: { options: this.options, entry: entry.href } satisfies WorkerData,
    });
    this.worker.on('message', (msg: WorkerToHost) => this.onMessage(msg));
    this.worker.on('error', (err) => this.failAll(`engine worker crashed: ${err.message}`));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.failAll(`engine worker exited with code ${code}`);
    });
  }

  private onMessage(msg: WorkerToHost): void {
    if (msg.type === 'state') {
      this.state = msg.state;
      return;
    }
    const call = this.calls.get(msg.callId);
    if (!call) return;
    if (msg.type === 'delta') call.onDelta?.(msg.delta, msg.tokens);
    else if (msg.type === 'started') call.onStarted?.(msg.model, msg.promptTokens);
    else {
      this.calls.delete(msg.callId);
      if (msg.ok) call.resolve(msg.value);
      else call.reject(new EngineError(msg.error.code as never, msg.error.message, msg.error.data));
    }
  }

  private failAll(message: string): void {
    this.lastError = message;
    for (const call of this.calls.values()) call.reject(new EngineError(ErrorCodes.InternalError, message));
    this.calls.clear();
  }

  private call<T>(
    msg: WithoutCallId<HostToWorker>,
    hooks: Omit<PendingCall, 'resolve' | 'reject'> = {},
  ): { callId: number; result: Promise<T> } {
    if (this.closed)
      return { callId: -1, result: Promise.reject(new EngineError(ErrorCodes.InternalError, 'engine is closed')) };
    const callId = this.nextCallId++;
    const result = new Promise<T>((resolve, reject) => {
      this.calls.set(callId, { resolve: resolve as (v: unknown) => void, reject, ...hooks });
    });
    this.worker.postMessage({ ...msg, callId } as HostToWorker);
    return { callId, result };
  }

  info(): ServerInfo {
    const cpuModel = cpus()[0]?.model?.trim() ?? 'unknown CPU';
    const ep = this.state.models.find((m) => m.id === this.state.defaultModel)?.executionProvider ?? 'cpu';
    return {
      name: 'aligner-server',
      version: SERVER_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      pid: process.pid,
      platform: `${process.platform}-${process.arch}`,
      device: ep === 'cpu' ? `${cpuModel} (${availableParallelism()} cores)` : ep,
      executionProvider: ep,
      availableExecutionProviders: availableExecutionProviders(),
      threads: this.options.threads,
      maxBatch: this.options.maxBatch,
      maxQueue: this.options.maxQueue,
    };
  }

  health(): HealthResult {
    const status: HealthResult['status'] =
      this.loading > 0 ? 'loading' : this.state.defaultModel ? 'ready' : this.lastError ? 'error' : 'no-model';
    return {
      status,
      model: this.state.defaultModel,
      message: status === 'error' ? this.lastError : null,
      queueLength: this.state.queueLength,
      running: this.state.running,
    };
  }

  listModels(): ModelsListResult {
    return { models: this.state.models, defaultModel: this.state.defaultModel };
  }

  async loadModel(params: ModelsLoadParams): Promise<ModelInfo> {
    this.loading++;
    try {
      const model = await this.call<ModelInfo>({
        type: 'load',
        path: params.path,
        id: params.id,
        executionProvider: params.executionProvider,
        makeDefault: params.makeDefault,
      }).result;
      this.lastError = null;
      if (model.notice) this.notices.push(model.notice);
      return model;
    } catch (err) {
      this.lastError = (err as Error).message;
      throw err;
    } finally {
      this.loading--;
    }
  }

  async unloadModel(id: string): Promise<boolean> {
    return this.call<boolean>({ type: 'unload', id }).result;
  }

  async correct(input: CorrectionInput, callbacks: CorrectionCallbacks = {}): Promise<CorrectResult> {
    const arrived = performance.now();
    let text = '';
    let index = 0;
    let firstDeltaAt: number | null = null;
    let model = input.model ?? this.state.defaultModel ?? '';
    let promptTokens = 0;
    let completionTokens = 0;
    const { signal } = callbacks;
    if (signal?.aborted)
      return this.cancelledResult(input.requestId, model, text, 0, promptTokens, arrived, firstDeltaAt);
    const { callId, result } = this.call<CorrectionReply>(
      { type: 'correct', input },
      {
        onDelta: (delta, tokens) => {
          if (signal?.aborted) return;
          completionTokens = tokens;
          firstDeltaAt ??= performance.now();
          text += delta;
          callbacks.onDelta?.(delta, index++);
        },
        onStarted: (m, n) => {
          model = m;
          promptTokens = n;
        },
      },
    );
    // Cancel answers at once with what was streamed; the worker stops at its next step boundary.
    const cancelled = new Promise<CorrectResult>((resolve) => {
      const onAbort = () => {
        this.worker.postMessage({ type: 'cancel', callId } satisfies HostToWorker);
        resolve(
          this.cancelledResult(input.requestId, model, text, completionTokens, promptTokens, arrived, firstDeltaAt),
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void result.finally(() => signal?.removeEventListener('abort', onAbort)).catch(() => undefined);
    });
    const finished = result.then((r): CorrectResult => {
      const decodeSeconds = r.decodeMs / 1000;
      return {
        requestId: input.requestId,
        model: r.model,
        text: r.text,
        tokenIds: r.tokenIds,
        finishReason: r.finishReason,
        usage: { promptTokens: r.promptTokens, completionTokens: r.tokenIds.length },
        timings: {
          queueMs: r.queueMs,
          prefillMs: r.prefillMs,
          decodeMs: r.decodeMs,
          firstTokenMs: r.firstTokenMs,
          decodeTokensPerSecond: decodeSeconds > 0 ? r.tokenIds.length / decodeSeconds : 0,
          draftTokens: r.draftTokens,
          acceptedDraftTokens: r.acceptedDraftTokens,
        },
      };
    });
    return Promise.race([finished, cancelled]);
  }

  score(input: ScoreInput): Promise<ScoreResult> {
    return this.call<ScoreResult>({ type: 'score', input }).result;
  }

  private cancelledResult(
    requestId: string,
    model: string,
    text: string,
    completionTokens: number,
    promptTokens: number,
    arrived: number,
    firstDeltaAt: number | null,
  ): CorrectResult {
    return {
      requestId,
      model,
      text,
      finishReason: 'cancelled',
      usage: { promptTokens, completionTokens },
      timings: {
        queueMs: 0,
        prefillMs: 0,
        decodeMs: performance.now() - arrived,
        firstTokenMs: firstDeltaAt === null ? null : firstDeltaAt - arrived,
        decodeTokensPerSecond: 0,
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      // The grace timer is unref'd: a pending timer would keep the process alive 2 s after a quick close.
      await Promise.race([this.call({ type: 'close' }).result, new Promise((r) => setTimeout(r, 2000).unref())]);
    } catch {
      // closing anyway
    }
    this.closed = true;
    await this.worker.terminate();
  }
}
