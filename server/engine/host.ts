// EngineHost: the AlignerService the transports and the CLI use. It owns the engine worker thread
// and mirrors its state, so health and model lists answer at once even while the worker computes.
// The worker can die (an uncaught error, out of memory) or get stuck (a model load that never
// returns): then every call in flight fails with a clear error, health says why, and a new worker
// reloads the models, a few times; after that the host reports itself down (onFatal) for good.
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
  /** Worker restarts allowed within `restartWindowMs`; then the engine stays down. Default 3; 0 = never. */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** A model load that takes longer fails, and its (stuck) worker is replaced. Default 10 minutes. */
  loadTimeoutMs?: number;
}

const DEFAULT_MAX_RESTARTS = 3;
const DEFAULT_RESTART_WINDOW_MS = 60_000;
const DEFAULT_LOAD_TIMEOUT_MS = 10 * 60_000;

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

const EMPTY_STATE: EngineState = { models: [], defaultModel: null, queueLength: 0, running: 0 };

export class EngineHost implements AlignerService {
  private worker: Worker;
  private readonly calls = new Map<number, PendingCall>();
  private nextCallId = 1;
  private state: EngineState = EMPTY_STATE;
  private loading = 0;
  private lastError: string | null = null;
  private closed = false;
  /** Why the current worker is going away, when we know better than its exit code. */
  private workerFault: string | null = null;
  /** Set while a new worker reloads the models of one that died; bumped per restart. */
  private restarting: { generation: number; why: string } | null = null;
  private restartGeneration = 0;
  private readonly restartTimes: number[] = [];
  /** Why the engine is down for good (the worker kept dying); every call then fails at once. */
  private down: string | null = null;
  private readonly fatalListeners: ((message: string) => void)[] = [];
  private readonly maxRestarts: number;
  private readonly restartWindowMs: number;
  private readonly loadTimeoutMs: number;
  /** How each loaded model was loaded, to load it again in a restarted worker. */
  private readonly loadedWith = new Map<string, ModelsLoadParams>();
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
    this.maxRestarts = opts.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    this.restartWindowMs = opts.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS;
    this.loadTimeoutMs = opts.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
    this.worker = this.startWorker();
  }

  /** Called once if the engine goes down for good (the server then exits, so its launcher restarts it). */
  onFatal(listener: (message: string) => void): void {
    this.fatalListeners.push(listener);
  }

  private startWorker(): Worker {
    // Under tsx (tests, dev) the worker is the .ts source; compiled, it is the .js beside this file.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const entry = new URL(`./worker${ext}`, import.meta.url);
    const worker = new Worker(ext === '.ts' ? new URL('./tsWorkerBootstrap.mjs', import.meta.url) : entry, {
      workerData: { options: this.options, entry: entry.href } satisfies WorkerData,
    });
    // Events of a worker already replaced are stale.
    worker.on('message', (msg: WorkerToHost) => {
      if (worker === this.worker) this.onMessage(msg);
    });
    worker.on('error', (err) => {
      if (worker === this.worker) this.workerFault ??= `the engine crashed: ${err.message}`;
    });
    worker.on('exit', (code) => {
      if (worker !== this.worker || this.closed) return;
      const why = this.workerFault ?? `the engine stopped unexpectedly (worker exit code ${code})`;
      this.workerFault = null;
      this.workerLost(why);
    });
    return worker;
  }

  /** The worker is gone with everything it held: fail what was in flight, then restart or go down. */
  private workerLost(why: string): void {
    const models = this.state.models;
    const defaultModel = this.state.defaultModel;
    this.state = EMPTY_STATE;
    this.failAll(`${why}; the request was not completed`);
    const now = Date.now();
    while (this.restartTimes.length && now - this.restartTimes[0]! > this.restartWindowMs) this.restartTimes.shift();
    if (this.restartTimes.length >= this.maxRestarts) {
      this.restarting = null;
      this.down =
        this.maxRestarts === 0
          ? why
          : `${why}; not restarted again after ${this.maxRestarts} restarts within ${Math.round(this.restartWindowMs / 1000)} s`;
      this.lastError = this.down;
      for (const listener of this.fatalListeners) listener(this.down);
      return;
    }
    this.restartTimes.push(now);
    void this.restart(why, models, defaultModel);
  }

  private async restart(why: string, models: ModelInfo[], defaultModel: string | null): Promise<void> {
    const generation = ++this.restartGeneration;
    this.restarting = { generation, why };
    this.worker = this.startWorker();
    let failed: string | null = null;
    for (const m of models) {
      if (this.restarting?.generation !== generation) return; // died again: a newer restart took over
      const params = this.loadedWith.get(m.id) ?? { path: m.path, id: m.id };
      try {
        const request = this.loadRequest({ ...params, makeDefault: m.id === defaultModel });
        await this.withLoadTimeout(this.call<ModelInfo>(request).result, m.path);
      } catch (err) {
        failed ??= `reloading model ${m.id} after the restart failed: ${(err as Error).message}`;
      }
    }
    if (this.restarting?.generation !== generation) return; // died again meanwhile
    this.restarting = null;
    // With nothing to reload, health keeps saying why the engine restarted.
    if (failed) this.lastError = `${why}; ${failed}`;
    else if (models.length) this.lastError = null;
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
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) call.reject(new EngineError(ErrorCodes.InternalError, message));
  }

  /** Why a call cannot be made now, or null when the engine can take it. */
  private unavailable(): EngineError | null {
    if (this.closed) return new EngineError(ErrorCodes.InternalError, 'engine is closed');
    if (this.down) return new EngineError(ErrorCodes.InternalError, `the engine is not running: ${this.down}`);
    return null;
  }

  /** Corrections and scores also wait for a restarted engine's models (503 over HTTP: try again). */
  private notServing(): EngineError | null {
    if (this.restarting) {
      return new EngineError(
        ErrorCodes.ModelNotLoaded,
        `the engine is restarting (${this.restarting.why}); try again in a moment`,
      );
    }
    return this.unavailable();
  }

  private call<T>(
    msg: WithoutCallId<HostToWorker>,
    hooks: Omit<PendingCall, 'resolve' | 'reject'> = {},
  ): { callId: number; result: Promise<T> } {
    const refused = this.unavailable();
    if (refused) return { callId: -1, result: Promise.reject(refused) };
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
    const status: HealthResult['status'] = this.down
      ? 'error'
      : this.loading > 0 || this.restarting
        ? 'loading'
        : this.state.defaultModel
          ? 'ready'
          : this.lastError
            ? 'error'
            : 'no-model';
    return {
      status,
      model: this.state.defaultModel,
      message: status === 'error' ? this.lastError : this.restarting ? `restarting: ${this.restarting.why}` : null,
      queueLength: this.state.queueLength,
      running: this.state.running,
    };
  }

  listModels(): ModelsListResult {
    return { models: this.state.models, defaultModel: this.state.defaultModel };
  }

  private loadRequest(params: ModelsLoadParams): WithoutCallId<HostToWorker> {
    return {
      type: 'load',
      path: params.path,
      id: params.id,
      executionProvider: params.executionProvider,
      makeDefault: params.makeDefault,
      role: params.role,
      chatTemplatePath: params.chatTemplatePath,
    };
  }

  /** A load that never returns (a read that blocks) holds the worker: give up on it and replace the worker. */
  private async withLoadTimeout<T>(result: Promise<T>, path: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const message = `loading ${path} took longer than ${Math.round(this.loadTimeoutMs / 100) / 10} s; gave up`;
        reject(new EngineError(ErrorCodes.ModelLoadFailed, message));
        // Replaced now, not on its exit: a thread blocked in a read may never exit.
        const stuck = this.worker;
        this.workerLost(`the engine was restarted: ${message}`);
        void stuck.terminate();
      }, this.loadTimeoutMs);
    });
    result.catch(() => undefined); // failed by the worker's replacement when the timeout came first
    try {
      return await Promise.race([result, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async loadModel(params: ModelsLoadParams): Promise<ModelInfo> {
    this.loading++;
    try {
      const model = await this.withLoadTimeout(this.call<ModelInfo>(this.loadRequest(params)).result, params.path);
      this.loadedWith.set(model.id, { ...params, id: model.id });
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
    const unloaded = await this.call<boolean>({ type: 'unload', id }).result;
    this.loadedWith.delete(id);
    return unloaded;
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
    const refused = this.notServing();
    if (refused) throw refused;
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
        if (this.calls.has(callId)) this.worker.postMessage({ type: 'cancel', callId } satisfies HostToWorker);
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
    const refused = this.notServing();
    if (refused) return Promise.reject(refused);
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
    if (this.down) {
      this.closed = true;
      return;
    }
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
