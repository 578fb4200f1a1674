// The engine proper: loaded models, prompt building, and corrections through each model's scheduler.
// It runs inside the engine worker (see worker.ts); nothing here knows about sockets or HTTP.
import { basename } from 'node:path';
import { randomInt } from 'node:crypto';
import { ErrorCodes } from '../protocol/index.js';
import type { ExecutionProvider, GenerationOptions, ModelInfo, ModelRole, TemplateName } from '../protocol/index.js';
import { EngineError } from './api.js';
import type { CorrectionInput, ScoreInput } from './api.js';
import { chooseProvider, fallbackNotice } from './executionProviders.js';
import { ModelFolderError, readModelFolder } from './modelFolder.js';
import type { ModelSpec } from './modelFolder.js';
import { OnnxDecoder } from './onnxDecoder.js';
import { OptimumBackend } from './kv/optimumBackend.js';
import { FastBackend } from './kv/fastBackend.js';
import { FastDecoder } from './fastDecoder.js';
import { createSession, detectLayout } from './session.js';
import type { SessionOptions } from './session.js';
import type { KvBackend } from './kv/backend.js';
import { samplingConfig } from './sampler.js';
import { seededRandom } from '../util/rng.js';
import { Scheduler } from './scheduler.js';
import type { ScoreResult, SequenceHandle, SequenceResult } from './scheduler.js';
import { buildPrompt, correctionStops } from './templates.js';
import { ChatTemplate, ChatTemplateError, findChatTemplate } from './chatTemplate.js';
import { readFileSync } from 'node:fs';
import { TextTokenizer } from './tokenizer.js';

export interface EngineOptions {
  threads: number;
  maxBatch: number;
  maxQueue: number;
  prefillChunk: number;
  /** Prompt-lookup speculation while at most this many requests decode together (0 = off). */
  speculationMaxBatch: number;
}

export const DEFAULT_MAX_NEW_TOKENS = 512;

interface LoadedModel {
  info: ModelInfo;
  spec: ModelSpec;
  backend: KvBackend;
  tokenizer: TextTokenizer;
  scheduler: Scheduler;
  /** Chat models only: the model's own prompt format. */
  chatTemplate?: ChatTemplate;
}

export interface PreparedCorrection {
  model: LoadedModel;
  promptIds: number[];
  generation: GenerationOptions;
}

/** Opens the model's graph and picks the KV backend its layout needs. */
async function openBackend(spec: ModelSpec, opts: SessionOptions): Promise<KvBackend> {
  const session = await createSession(spec.onnxPath, opts);
  const layout = detectLayout(session.inputNames);
  if (layout === 'fast') return new FastBackend(await FastDecoder.fromSession(session, spec));
  if (layout === 'optimum') return new OptimumBackend(await OnnxDecoder.fromSession(session, spec));
  await session.release();
  throw new Error(
    `${spec.onnxPath}: unknown graph layout (inputs: ${session.inputNames.join(', ')}); expected the Optimum decoder with KV cache or the fast layout`,
  );
}

export class Engine {
  private readonly models = new Map<string, LoadedModel>();
  defaultModel: string | null = null;

  constructor(readonly options: EngineOptions) {}

  listModels(): ModelInfo[] {
    return [...this.models.values()].map((m) => m.info);
  }

  async loadModel(
    path: string,
    opts: {
      id?: string;
      executionProvider?: ExecutionProvider;
      makeDefault?: boolean;
      role?: ModelRole;
      chatTemplatePath?: string;
    } = {},
  ): Promise<ModelInfo> {
    let spec: ModelSpec;
    try {
      spec = readModelFolder(path);
    } catch (err) {
      if (err instanceof ModelFolderError) throw new EngineError(ErrorCodes.ModelLoadFailed, err.message);
      throw err;
    }
    const id = opts.id ?? basename(spec.dir);
    const role: ModelRole = opts.role ?? 'aligner';
    const chatTemplate = role === 'chat' ? loadChatTemplate(spec, opts.chatTemplatePath) : undefined;
    if (this.models.has(id)) await this.unloadModel(id);
    const choice = chooseProvider(opts.executionProvider);
    let backend: KvBackend;
    let tokenizer: TextTokenizer;
    try {
      tokenizer = new TextTokenizer(spec.tokenizerJson, spec.tokenizerConfig);
      try {
        backend = await openBackend(spec, { executionProvider: choice.provider, threads: this.options.threads });
      } catch (err) {
        if (choice.provider === 'cpu') throw err;
        choice.notice = fallbackNotice(choice.provider, (err as Error).message);
        choice.provider = 'cpu';
        backend = await openBackend(spec, { executionProvider: 'cpu', threads: this.options.threads });
      }
    } catch (err) {
      throw new EngineError(ErrorCodes.ModelLoadFailed, `could not load ${spec.dir}: ${(err as Error).message}`);
    }
    const scheduler = new Scheduler(backend, {
      maxBatch: this.options.maxBatch,
      maxQueue: this.options.maxQueue,
      prefillChunk: this.options.prefillChunk,
      decode: (ids) => tokenizer.decode(ids),
      eosTokenIds: spec.eosTokenIds,
      contextLength: spec.contextLength,
      speculationMaxBatch: this.options.speculationMaxBatch,
    });
    const info: ModelInfo = {
      id,
      role,
      path: spec.dir,
      modelType: spec.modelType,
      template: spec.template,
      layout: backend.layout,
      executionProvider: choice.provider,
      parameters: null,
      contextLength: spec.contextLength,
      vocabSize: spec.vocabSize,
    };
    this.models.set(id, { info, spec, backend, tokenizer, scheduler, chatTemplate });
    // Corrections go to the default model, so an Aligner takes the default over from a chat model.
    const current = this.defaultModel === null ? undefined : this.models.get(this.defaultModel);
    if (opts.makeDefault || !current || (role === 'aligner' && current.info.role === 'chat')) this.defaultModel = id;
    return choice.notice ? { ...info, notice: choice.notice } : info;
  }

  async unloadModel(id: string): Promise<boolean> {
    const model = this.models.get(id);
    if (!model) return false;
    this.models.delete(id);
    model.scheduler.abortAll(new EngineError(ErrorCodes.ModelNotLoaded, `model "${id}" was unloaded`));
    if (this.defaultModel === id) this.defaultModel = this.models.keys().next().value ?? null;
    await model.backend.close();
    return true;
  }

  queueLength(): number {
    let n = 0;
    for (const m of this.models.values()) n += m.scheduler.queueLength;
    return n;
  }

  runningCount(): number {
    let n = 0;
    for (const m of this.models.values()) n += m.scheduler.activeCount;
    return n;
  }

  private resolveModel(name?: string): LoadedModel {
    const id = name ?? this.defaultModel;
    const model = id === null ? undefined : this.models.get(id);
    if (!model) {
      throw new EngineError(
        ErrorCodes.ModelNotLoaded,
        id === null
          ? 'no model is loaded'
          : `model "${id}" is not loaded (loaded: ${[...this.models.keys()].join(', ') || 'none'})`,
      );
    }
    return model;
  }

  /** The prompt's token ids: the Aligner template over question and answer, a chat template, or raw text. */
  private promptIds(model: LoadedModel, input: CorrectionInput): number[] {
    const source = input.prompt;
    if (source?.kind === 'raw') return model.tokenizer.encode(source.text);
    if (source?.kind === 'chat') {
      if (!model.chatTemplate) {
        throw new EngineError(ErrorCodes.InvalidParams, `model "${model.info.id}" is not a chat model`);
      }
      let text: string;
      try {
        text = model.chatTemplate.render(source.messages);
      } catch (err) {
        if (err instanceof ChatTemplateError) throw new EngineError(ErrorCodes.InvalidParams, err.message);
        throw err;
      }
      // As transformers' apply_chat_template: the template writes any BOS itself.
      return model.tokenizer.encodePlain(text);
    }
    const template: TemplateName = input.template ?? model.spec.template;
    return model.tokenizer.encode(buildPrompt(template, input.question, input.answer, input.context));
  }

  prepare(input: CorrectionInput): PreparedCorrection {
    const model = this.resolveModel(input.model);
    const promptIds = this.promptIds(model, input);
    const generation = { ...model.spec.generationDefaults, ...(input.generation ?? {}) };
    if (!input.prompt) generation.stop = correctionStops(input.template ?? model.spec.template, generation.stop);
    const room = model.spec.contextLength - promptIds.length;
    if (room < 1) {
      throw new EngineError(
        ErrorCodes.ContextOverflow,
        `${input.prompt ? 'the prompt takes' : 'the question and answer take'} ${promptIds.length} tokens; model "${model.info.id}" fits ${model.spec.contextLength}`,
        { promptTokens: promptIds.length, contextLength: model.spec.contextLength },
      );
    }
    generation.maxNewTokens = Math.min(generation.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, room);
    return { model, promptIds, generation };
  }

  async score(input: ScoreInput): Promise<ScoreResult & { model: string }> {
    const model = this.resolveModel(input.model);
    const prompt = buildPrompt(input.template ?? model.spec.template, input.question, input.answer, input.context);
    const promptIds = model.tokenizer.encode(prompt);
    const ids = [...promptIds, ...model.tokenizer.encodePlain(input.continuation), model.spec.eosTokenIds[0]!];
    if (ids.length > model.spec.contextLength) {
      throw new EngineError(
        ErrorCodes.ContextOverflow,
        `scoring needs ${ids.length} tokens; model "${model.info.id}" fits ${model.spec.contextLength}`,
      );
    }
    return { ...(await model.scheduler.score(ids, promptIds.length)), model: model.info.id };
  }

  start(prepared: PreparedCorrection, onDelta: (delta: string, completionTokens: number) => void): SequenceHandle {
    const g = prepared.generation;
    return prepared.model.scheduler.submit({
      promptIds: prepared.promptIds,
      maxNewTokens: g.maxNewTokens!,
      sampling: samplingConfig(g),
      random: seededRandom(g.seed ?? randomInt(2 ** 32)),
      stops: g.stop ?? [],
      onDelta,
    });
  }

  async close(): Promise<void> {
    for (const id of [...this.models.keys()]) await this.unloadModel(id);
  }
}

export type { SequenceResult };

/** A chat model's template: the given file, else the folder's own; a chat model without one cannot load. */
function loadChatTemplate(spec: ModelSpec, overridePath?: string): ChatTemplate {
  let source: string | undefined;
  if (overridePath) {
    try {
      source = readFileSync(overridePath, 'utf8');
    } catch (err) {
      throw new EngineError(
        ErrorCodes.ModelLoadFailed,
        `cannot read chat template ${overridePath}: ${(err as Error).message}`,
      );
    }
  } else {
    source = findChatTemplate(spec.dir, spec.tokenizerConfig);
  }
  if (source === undefined) {
    throw new EngineError(
      ErrorCodes.ModelLoadFailed,
      `${spec.dir} has no chat template (chat_template in tokenizer_config.json or chat_template.jinja); give one with --chat-template FILE`,
    );
  }
  try {
    return new ChatTemplate(source, spec.tokenizerConfig);
  } catch (err) {
    throw new EngineError(ErrorCodes.ModelLoadFailed, `${spec.dir}: ${(err as Error).message}`);
  }
}
