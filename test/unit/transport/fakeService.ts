// A scripted AlignerService for transport tests: streams a few deltas with small delays, honours
// the AbortSignal, and raises EngineErrors on request. Its text depends on the input, so concurrent
// clients can check they got their own answer.
import {
  ErrorCodes,
  type CorrectResult,
  type HealthResult,
  type ModelInfo,
  type ModelsListResult,
  type ScoreResult,
  type ServerInfo,
} from '../../../server/protocol/index.js';
import {
  EngineError,
  type AlignerService,
  type CorrectionCallbacks,
  type CorrectionInput,
  type ScoreInput,
} from '../../../server/engine/api.js';

export const MODEL_ID = 'tiny-test';

/** The deltas FakeService streams for an input; their concatenation is the result text. */
export function expectedDeltas(input: Pick<CorrectionInput, 'question' | 'answer'>): string[] {
  return ['Corrected', `(${input.question})`, ': ', ...input.answer.split(/(?= )/)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FakeService implements AlignerService {
  healthStatus: HealthResult['status'] = 'ready';
  delayMs = 2;
  readonly inputs: CorrectionInput[] = [];
  private readonly abortWaiters = new Map<string, Array<() => void>>();
  readonly aborted = new Set<string>();

  /** Resolves once the service has seen `requestId`'s signal abort. */
  waitForAbort(requestId: string): Promise<void> {
    if (this.aborted.has(requestId)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.abortWaiters.get(requestId) ?? [];
      list.push(resolve);
      this.abortWaiters.set(requestId, list);
    });
  }

  info(): ServerInfo {
    return {
      name: 'aligner-server',
      version: '0.0.0-test',
      protocolVersion: 1,
      pid: process.pid,
      platform: process.platform,
      device: 'cpu',
      executionProvider: 'cpu',
      availableExecutionProviders: ['cpu'],
      threads: 1,
      maxBatch: 4,
      maxQueue: 16,
    };
  }

  health(): HealthResult {
    return { status: this.healthStatus, model: MODEL_ID, message: null, queueLength: 0, running: 0 };
  }

  private model(): ModelInfo {
    return {
      id: MODEL_ID,
      path: '/models/tiny',
      modelType: 'llama',
      template: 'correction',
      layout: 'optimum',
      executionProvider: 'cpu',
      parameters: 1000,
      contextLength: 512,
      vocabSize: 300,
    };
  }

  listModels(): ModelsListResult {
    return { models: [this.model()], defaultModel: MODEL_ID };
  }

  async loadModel(params: { path: string; id?: string }): Promise<ModelInfo> {
    if (params.path === '/missing') throw new EngineError(ErrorCodes.ModelLoadFailed, 'no such folder');
    return { ...this.model(), id: params.id ?? 'loaded', path: params.path };
  }

  async unloadModel(id: string): Promise<boolean> {
    return id === MODEL_ID;
  }

  async correct(input: CorrectionInput, callbacks: CorrectionCallbacks = {}): Promise<CorrectResult> {
    this.inputs.push(input);
    const { signal, onDelta } = callbacks;
    const onAbort = () => {
      this.aborted.add(input.requestId);
      for (const w of this.abortWaiters.get(input.requestId) ?? []) w();
      this.abortWaiters.delete(input.requestId);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });

    switch (input.question) {
      case 'throw-engine':
        throw new EngineError(ErrorCodes.ContextOverflow, 'input does not fit', { promptTokens: 9999 });
      case 'throw-overloaded':
        throw new EngineError(ErrorCodes.Overloaded, 'queue full', { queueLength: 16, maxQueue: 16 });
      case 'throw-internal':
        throw new Error('secret detail at /home/user/engine.ts:42');
    }
    if (input.model && input.model !== MODEL_ID) {
      throw new EngineError(ErrorCodes.ModelNotLoaded, `model ${input.model} is not loaded`);
    }

    // 'slow' streams until aborted (bounded by maxNewTokens); anything else streams a fixed text.
    const slow = input.question === 'slow';
    const deltas = slow ? [] : expectedDeltas(input);
    const limit = slow ? (input.generation?.maxNewTokens ?? 5000) : deltas.length;
    let text = '';
    let finishReason: CorrectResult['finishReason'] = slow ? 'length' : 'stop';
    for (let i = 0; i < limit; i++) {
      await sleep(this.delayMs);
      if (signal?.aborted) {
        finishReason = 'cancelled';
        break;
      }
      const delta = slow ? `t${i} ` : deltas[i];
      text += delta;
      onDelta?.(delta, i);
    }
    signal?.removeEventListener('abort', onAbort);
    const completionTokens = text.length;
    return {
      requestId: input.requestId,
      model: MODEL_ID,
      text,
      finishReason,
      usage: { promptTokens: input.question.length + input.answer.length, completionTokens },
      timings: { queueMs: 0, prefillMs: 1, decodeMs: 1, firstTokenMs: 1, decodeTokensPerSecond: 1000 },
    };
  }

  async score(input: ScoreInput): Promise<ScoreResult> {
    // A stand-in likelihood: longer continuations are less likely.
    return { model: input.model ?? 'fake', logprob: -input.continuation.length, tokens: input.continuation.length };
  }

  async close(): Promise<void> {}
}
