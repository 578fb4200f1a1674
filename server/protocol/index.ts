// The one definition of the extension <-> server protocol: JSON-RPC 2.0 over WebSocket.
// Imported by server/ and extension/ alike; it imports only zod and vscode-jsonrpc's type helpers.
// Every params schema here is what the server validates before acting on a request.
import { z } from 'zod';
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

/** Bumped on any incompatible change; the handshake refuses a mismatched major. */
export const PROTOCOL_VERSION = 1;

/** WebSocket path on the server's port; HTTP routes live beside it on the same port. */
export const WS_PATH = '/rpc';

// ---------------------------------------------------------------- error codes
export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The bounded request queue is full; retry later. data: { queueLength, maxQueue } */
  Overloaded: -32001,
  /** No model is loaded, or the named model is unknown. */
  ModelNotLoaded: -32002,
  /** The client's protocol version is not supported. data: { serverVersion } */
  ProtocolMismatch: -32003,
  /** The model folder could not be loaded; message says why. */
  ModelLoadFailed: -32004,
  /** The job does not exist, or cannot do what was asked in its state. data: { status } */
  JobError: -32007,
  /** Jobs are not available on this server (started without a job manager). */
  JobsUnavailable: -32008,
  /** A request was made before the `initialize` handshake. */
  NotInitialized: -32005,
  /** The input does not fit the model's context window. */
  ContextOverflow: -32006,
  /** A remote backend (a remote Aligner's endpoint) could not be reached or failed. */
  BackendUnavailable: -32009,
  /** The request was cancelled (same code as LSP's RequestCancelled). */
  RequestCancelled: -32800,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

// ---------------------------------------------------------------- shared shapes
export const TemplateNameSchema = z.enum(['correction', 'v1.0', 'revision']);
export type TemplateName = z.infer<typeof TemplateNameSchema>;

export const ChatTurnSchema = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string().max(1_000_000),
});
export type ChatTurn = z.infer<typeof ChatTurnSchema>;

export const GenerationOptionsSchema = z
  .object({
    maxNewTokens: z.number().int().min(1).max(32_768),
    /** 0 means greedy. */
    temperature: z.number().min(0).max(10),
    topP: z.number().gt(0).max(1),
    /** 0 disables top-k. */
    topK: z.number().int().min(0).max(100_000),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    repetitionPenalty: z.number().min(0.5).max(5),
    /**
     * Loop guard: bans a token that would make an n-gram of this size occur in the output more often
     * than in the prompt (server/engine/loopGuard.ts). 0 = off.
     */
    loopGuard: z.union([z.literal(0), z.number().int().min(2).max(256)]),
    stop: z.array(z.string().min(1).max(256)).max(16),
  })
  .partial()
  .strict();
export type GenerationOptions = z.infer<typeof GenerationOptionsSchema>;

export const ExecutionProviderSchema = z.enum(['cpu', 'cuda', 'webgpu']);
export type ExecutionProvider = z.infer<typeof ExecutionProviderSchema>;

export const FinishReasonSchema = z.enum(['stop', 'length', 'cancelled']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Timings {
  /** Time spent waiting for a batch slot. */
  queueMs: number;
  prefillMs: number;
  decodeMs: number;
  /** From the request's arrival to the first streamed text. */
  firstTokenMs: number | null;
  /** Completion tokens per second of decode. */
  decodeTokensPerSecond: number;
  /** Prompt-lookup speculation: tokens drafted and accepted (fast layout only). */
  draftTokens?: number;
  acceptedDraftTokens?: number;
}

/** aligner: corrects answers (the default); chat: an instruct model answering with its own chat template. */
export const ModelRoleSchema = z.enum(['aligner', 'chat']);
export type ModelRole = z.infer<typeof ModelRoleSchema>;

export interface ModelInfo {
  id: string;
  /** Absent on servers from before chat models: read as 'aligner'. */
  role?: ModelRole;
  /** Set for a remote Aligner (corrections go to an OpenAI-compatible /v1/completions endpoint). */
  remote?: { endpoint: string; model: string };
  path: string;
  modelType: string;
  template: TemplateName;
  /** optimum: Hugging Face Optimum graph; fast: engine-owned KV cache (aligner convert --layout fast); remote: served elsewhere. */
  layout: 'optimum' | 'fast' | 'remote';
  executionProvider: ExecutionProvider;
  parameters: number | null;
  contextLength: number;
  vocabSize: number;
  /** Set when the requested execution provider could not be used, saying why. */
  notice?: string;
}

export interface ServerInfo {
  name: 'aligner-server';
  version: string;
  protocolVersion: number;
  pid: number;
  platform: string;
  device: string;
  executionProvider: ExecutionProvider;
  availableExecutionProviders: string[];
  threads: number;
  maxBatch: number;
  maxQueue: number;
}

// ---------------------------------------------------------------- requests
export const InitializeParamsSchema = z
  .object({
    protocolVersion: z.number().int().min(0),
    client: z
      .object({ name: z.string().max(200), version: z.string().max(100) })
      .strict()
      .optional(),
  })
  .strict();
export type InitializeParams = z.infer<typeof InitializeParamsSchema>;
export interface InitializeResult {
  protocolVersion: number;
  server: ServerInfo;
}
export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('initialize');

export const EmptyParamsSchema = z.union([z.object({}).strict(), z.undefined(), z.null()]);

export interface HealthResult {
  status: 'loading' | 'ready' | 'error' | 'no-model';
  model: string | null;
  message: string | null;
  queueLength: number;
  running: number;
  /** Whether jobs/* work on this server, and why not (e.g. its run registry is read-only). */
  jobs?: { available: boolean; message: string | null };
}
export const HealthRequest = new RequestType0<HealthResult, void>('health');

export const ServerInfoRequest = new RequestType0<ServerInfo, void>('server/info');

export interface ModelsListResult {
  models: ModelInfo[];
  defaultModel: string | null;
}
export const ModelsListRequest = new RequestType0<ModelsListResult, void>('models/list');

export const ModelsLoadParamsSchema = z
  .object({
    path: z.string().min(1).max(4096),
    id: z.string().min(1).max(200).optional(),
    executionProvider: ExecutionProviderSchema.optional(),
    makeDefault: z.boolean().optional(),
    role: ModelRoleSchema.optional(),
    /** A Jinja chat template file for a chat model whose folder has none. */
    chatTemplatePath: z.string().min(1).max(4096).optional(),
  })
  .strict();
export type ModelsLoadParams = z.infer<typeof ModelsLoadParamsSchema>;
export const ModelsLoadRequest = new RequestType<ModelsLoadParams, ModelInfo, void>('models/load');

export const ModelsUnloadParamsSchema = z.object({ id: z.string().min(1).max(200) }).strict();
export type ModelsUnloadParams = z.infer<typeof ModelsUnloadParamsSchema>;
export const ModelsUnloadRequest = new RequestType<ModelsUnloadParams, { unloaded: boolean }, void>('models/unload');

export const CorrectParamsSchema = z
  .object({
    /** Chosen by the client; tags the delta notifications and names the request in `cancel`. */
    requestId: z.string().min(1).max(200),
    model: z.string().min(1).max(200).optional(),
    question: z.string().max(1_000_000),
    answer: z.string().max(1_000_000),
    /** Earlier dialogue before the question, oldest first. */
    context: z.array(ChatTurnSchema).max(200).optional(),
    template: TemplateNameSchema.optional(),
    generation: GenerationOptionsSchema.optional(),
  })
  .strict();
export type CorrectParams = z.infer<typeof CorrectParamsSchema>;
export interface CorrectResult {
  requestId: string;
  model: string;
  text: string;
  /** The generated token ids (EOS excluded), for parity checks and tooling. */
  tokenIds?: number[];
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
}
export const CorrectRequest = new RequestType<CorrectParams, CorrectResult, void>('correct');

export const ScoreParamsSchema = z
  .object({
    model: z.string().min(1).max(200).optional(),
    question: z.string().max(1_000_000),
    answer: z.string().max(1_000_000),
    context: z.array(ChatTurnSchema).max(200).optional(),
    template: TemplateNameSchema.optional(),
    /** The text whose likelihood as the correction is measured; EOS is appended. */
    continuation: z.string().max(1_000_000),
  })
  .strict();
export type ScoreParams = z.infer<typeof ScoreParamsSchema>;
export interface ScoreResult {
  model: string;
  /** Sum of log-probabilities (nats) of the continuation's tokens and EOS. */
  logprob: number;
  tokens: number;
}
export const ScoreRequest = new RequestType<ScoreParams, ScoreResult, void>('score');

export const CancelParamsSchema = z.object({ requestId: z.string().min(1).max(200) }).strict();
export type CancelParams = z.infer<typeof CancelParamsSchema>;
export const CancelRequest = new RequestType<CancelParams, { cancelled: boolean }, void>('cancel');

// ---------------------------------------------------------------- jobs (training, export, evaluation)
export const JobKindSchema = z.enum(['train', 'export', 'eval']);
export type JobKind = z.infer<typeof JobKindSchema>;
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

const pathString = z.string().min(1).max(4096);
export const TrainJobConfigSchema = z
  .object({
    data: z.array(pathString).min(1).max(64),
    val: pathString.optional(),
    preset: z
      .string()
      .regex(/^[a-z0-9_-]+$/)
      .max(40)
      .optional(),
    base: pathString.optional(),
    modelType: z.enum(['llama', 'gemma', 'qwen2']).optional(),
    maxSteps: z.number().int().min(1).max(10_000_000).optional(),
    epochs: z.number().gt(0).max(1000).optional(),
    lr: z.number().gt(0).max(1).optional(),
    batchSize: z.number().int().min(1).max(4096).optional(),
    warmupIdentity: z.number().min(0).max(1).optional(),
    saveEvery: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).optional(),
  })
  .strict();
export type TrainJobConfig = z.infer<typeof TrainJobConfigSchema>;

export const ExportJobConfigSchema = z
  .object({
    /** A train job's id, or a run folder. */
    run: z.string().min(1).max(4096),
    dtype: z.enum(['fp32', 'fp16', 'int8']).optional(),
  })
  .strict();
export type ExportJobConfig = z.infer<typeof ExportJobConfigSchema>;

export const EvalJobConfigSchema = z
  .object({
    /** A model folder, or an export job's id. */
    model: z.string().min(1).max(4096),
    data: z.array(pathString).min(1).max(64),
    judges: z.array(z.enum(['reference', 'preference', 'harmlessness', 'honesty', 'llm'])).optional(),
    limit: z.number().int().min(1).optional(),
    maxNewTokens: z.number().int().min(1).max(32_768).optional(),
    judgeEndpoint: z.string().url().max(2048).optional(),
    judgeModel: z.string().max(200).optional(),
    /** Name of the server's environment variable holding the judge's API key (the key never travels). */
    judgeKeyEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]{0,63}$/)
      .optional(),
    /** OpenAI-compatible endpoint answering prompt-only rows (the upstream model), its model and key variable. */
    upstreamEndpoint: z.string().url().max(2048).optional(),
    upstreamModel: z.string().max(200).optional(),
    upstreamKeyEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]{0,63}$/)
      .optional(),
    /** The judge and upstream endpoints are Aligner servers (their chat completions need an assistant draft). */
    alignerEndpoints: z.boolean().optional(),
  })
  .strict();
export type EvalJobConfig = z.infer<typeof EvalJobConfigSchema>;

export const JobsStartParamsSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('train'), name: z.string().max(200).optional(), config: TrainJobConfigSchema }).strict(),
  z
    .object({
      kind: z.literal('export'),
      name: z.string().max(200).optional(),
      config: ExportJobConfigSchema,
      /** Load the exported model into the server when the job succeeds. */
      loadOnSuccess: z.boolean().optional(),
    })
    .strict(),
  z.object({ kind: z.literal('eval'), name: z.string().max(200).optional(), config: EvalJobConfigSchema }).strict(),
]);
export type JobsStartParams = z.infer<typeof JobsStartParamsSchema>;

export interface JobInfo {
  id: string;
  kind: JobKind;
  name: string;
  status: JobStatus;
  config: TrainJobConfig | ExportJobConfig | EvalJobConfig;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  exitCode: number | null;
  /** The latest progress event (step, loss, eta…), for lists. */
  latest: Record<string, unknown> | null;
  /** Folders the job writes: runDir (train), modelDir (export), evalDir (eval). */
  artifacts: Record<string, string>;
  error: string | null;
  resumable: boolean;
}

export interface JobDetail {
  job: JobInfo;
  /** Every JSON progress event the job printed, in order. */
  events: Record<string, unknown>[];
  logTail: string;
  /** An eval job's summary.json, once written. */
  evalSummary: unknown;
}

export const JobIdParamsSchema = z.object({ jobId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/) }).strict();
export type JobIdParams = z.infer<typeof JobIdParamsSchema>;

export const JobsStartRequest = new RequestType<JobsStartParams, JobInfo, void>('jobs/start');
export const JobsListRequest = new RequestType0<{ jobs: JobInfo[] }, void>('jobs/list');
export const JobsGetRequest = new RequestType<JobIdParams, JobDetail, void>('jobs/get');
export const JobsCancelRequest = new RequestType<JobIdParams, JobInfo, void>('jobs/cancel');
export const JobsResumeRequest = new RequestType<JobIdParams, JobInfo, void>('jobs/resume');
/** After this, the connection receives jobs/status and jobs/event notifications for every job. */
export const JobsSubscribeRequest = new RequestType0<{ subscribed: true }, void>('jobs/subscribe');

export const JobStatusNotification = new NotificationType<JobInfo>('jobs/status');
export interface JobEvent {
  jobId: string;
  event: Record<string, unknown>;
}
export const JobEventNotification = new NotificationType<JobEvent>('jobs/event');

// ---------------------------------------------------------------- notifications (server -> client)
export interface CorrectDelta {
  requestId: string;
  /** Text to append; never splits a UTF-8 character. */
  delta: string;
  /** 0-based sequence number of this delta within the request. */
  index: number;
}
export const CorrectDeltaNotification = new NotificationType<CorrectDelta>('correct/delta');

export interface ServerLog {
  level: 'info' | 'warn' | 'error';
  message: string;
}
export const ServerLogNotification = new NotificationType<ServerLog>('server/log');

/** Method name -> params schema; the server validates every request against this table. */
export const RequestParamSchemas = {
  [InitializeRequest.method]: InitializeParamsSchema,
  [HealthRequest.method]: EmptyParamsSchema,
  [ServerInfoRequest.method]: EmptyParamsSchema,
  [ModelsListRequest.method]: EmptyParamsSchema,
  [ModelsLoadRequest.method]: ModelsLoadParamsSchema,
  [ModelsUnloadRequest.method]: ModelsUnloadParamsSchema,
  [CorrectRequest.method]: CorrectParamsSchema,
  [CancelRequest.method]: CancelParamsSchema,
  [ScoreRequest.method]: ScoreParamsSchema,
  [JobsStartRequest.method]: JobsStartParamsSchema,
  [JobsListRequest.method]: EmptyParamsSchema,
  [JobsGetRequest.method]: JobIdParamsSchema,
  [JobsCancelRequest.method]: JobIdParamsSchema,
  [JobsResumeRequest.method]: JobIdParamsSchema,
  [JobsSubscribeRequest.method]: EmptyParamsSchema,
} as const;

// ---------------------------------------------------------------- HTTP (OpenAI-compatible)
export const HTTP_ROUTES = {
  health: '/health',
  models: '/v1/models',
  chatCompletions: '/v1/chat/completions',
  completions: '/v1/completions',
} as const;

/** Name of the token file the server writes (mode 0600) in its state directory. */
export const TOKEN_FILE_NAME = 'server.token';
/** Header carrying the token on HTTP requests and on the WebSocket upgrade. */
export const AUTH_HEADER = 'authorization';
