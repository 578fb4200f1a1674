// One WebSocket connection's JSON-RPC session: handshake state, params validation, dispatch to the
// AlignerService, streamed deltas, and cancellation (by `cancel`, by `$/cancelRequest`, on close).
import {
  createMessageConnection,
  ResponseError,
  type CancellationToken,
  type MessageConnection,
  type NotificationType,
} from 'vscode-jsonrpc';
import {
  CancelRequest,
  CorrectDeltaNotification,
  CorrectRequest,
  EmptyParamsSchema,
  HealthRequest,
  InitializeRequest,
  ModelsListRequest,
  ModelsLoadRequest,
  ModelsUnloadRequest,
  ServerInfoRequest,
  ScoreRequest,
  JobsStartRequest,
  JobsListRequest,
  JobsGetRequest,
  JobsCancelRequest,
  JobsResumeRequest,
  JobsSubscribeRequest,
  JobStatusNotification,
  JobEventNotification,
  ErrorCodes,
  PROTOCOL_VERSION,
  RequestParamSchemas,
  type CancelParams,
  type CorrectDelta,
  type CorrectParams,
  type InitializeParams,
  type ModelsLoadParams,
  type ModelsUnloadParams,
  type ScoreParams,
  type JobsStartParams,
  type JobIdParams,
  type JobInfo,
  type JobEvent,
  type CorrectResult,
  type InitializeResult,
} from '../protocol/index.js';
import type { AlignerService } from '../engine/api.js';
import type { JobService } from '../jobs/api.js';
import type { PathPolicy } from '../jobs/pathPolicy.js';
import type { HealthResult } from '../protocol/index.js';
import { toResponseError, type Log } from './errors.js';
import {
  InvalidMessageError,
  WebSocketMessageReader,
  WebSocketMessageWriter,
  type WebSocketLike,
} from './wsMessageTransport.js';

// RequestParamSchemas is keyed by plain strings, so each handler names its own params type; the
// params reach it only after that method's schema accepted them.
type Handler = (params: never, token: CancellationToken) => unknown;

export interface SessionOptions {
  /** Why jobs/* are unavailable, told to the client (e.g. the run registry is read-only). */
  jobsUnavailable?: string;
  /** Folders models/load may read from; any path when absent. */
  modelPaths?: PathPolicy;
  /** health as the server answers it (the engine's, plus the jobs' availability). */
  health?: () => HealthResult;
}

export class RpcSession {
  private readonly connection: MessageConnection;
  private readonly writer: WebSocketMessageWriter;
  private initialized = false;
  private disposed = false;
  /** In-flight `correct` requests of this connection, by the client's requestId. */
  private readonly inflight = new Map<string, AbortController>();

  private unsubscribeJobs: (() => void) | null = null;

  constructor(
    socket: WebSocketLike,
    private readonly service: AlignerService,
    private readonly log: Log,
    private readonly jobs: JobService | null = null,
    private readonly options: SessionOptions = {},
  ) {
    const reader = new WebSocketMessageReader(socket);
    this.writer = new WebSocketMessageWriter(socket);
    // vscode-jsonrpc only logs frames it cannot use; JSON-RPC wants an error response for them.
    reader.onError((error) => {
      if (error instanceof InvalidMessageError) this.replyInvalid(error);
      else this.log('warn', `rpc read error: ${error.message}`);
    });
    this.connection = createMessageConnection(reader, this.writer);
    this.connection.onRequest((method, params, token) => this.handle(method, params, token));
    this.connection.onClose(() => this.dispose());
    this.connection.listen();
  }

  /** Cancels every in-flight request; the connection is gone or going. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unsubscribeJobs?.();
    for (const controller of this.inflight.values()) controller.abort();
    this.inflight.clear();
    this.connection.dispose();
  }

  private notifyDelta(delta: CorrectDelta): void {
    // Deltas still produced after the socket closed have nowhere to go; the request is aborted.
    if (this.disposed) return;
    try {
      this.connection.sendNotification(CorrectDeltaNotification, delta).catch(() => {});
    } catch {
      // the connection closed between the check and the send
    }
  }

  private requireJobs(): JobService {
    if (!this.jobs) {
      throw new ResponseError(
        ErrorCodes.JobsUnavailable,
        this.options.jobsUnavailable ?? 'this server was started without a job manager',
      );
    }
    return this.jobs;
  }

  /** Relays every job's status changes and progress events to this connection until it closes. */
  private subscribeJobs(): { subscribed: true } {
    const jobs = this.requireJobs();
    if (!this.unsubscribeJobs) {
      const onStatus = (job: JobInfo) => this.notify(JobStatusNotification, job);
      const onEvent = (event: JobEvent) => this.notify(JobEventNotification, event);
      jobs.on('status', onStatus);
      jobs.on('event', onEvent);
      this.unsubscribeJobs = () => {
        jobs.off('status', onStatus);
        jobs.off('event', onEvent);
      };
    }
    return { subscribed: true };
  }

  private notify<P>(type: NotificationType<P>, params: P): void {
    if (this.disposed) return;
    try {
      this.connection.sendNotification(type, params).catch(() => {});
    } catch {
      // the connection closed between the check and the send
    }
  }

  private replyInvalid(error: InvalidMessageError): void {
    this.writer
      .write({ jsonrpc: '2.0', id: error.id, error: { code: error.code, message: error.message } } as never)
      .catch(() => {});
  }

  private async handle(method: string, params: unknown, token: CancellationToken): Promise<unknown> {
    try {
      const handler = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
      if (!handler || !Object.hasOwn(RequestParamSchemas, method)) {
        throw new ResponseError(ErrorCodes.MethodNotFound, `Method not found: ${method.slice(0, 100)}`);
      }
      if (method !== 'initialize' && !this.initialized) {
        throw new ResponseError(ErrorCodes.NotInitialized, 'The initialize request must come first');
      }
      const schema = RequestParamSchemas[method];
      // vscode-jsonrpc sends `[null]` for a RequestType<void, …> called without params; that is
      // "no params", not positional ones.
      if (
        schema === EmptyParamsSchema &&
        Array.isArray(params) &&
        params.length <= 1 &&
        params.every((p) => p == null)
      ) {
        params = undefined;
      }
      const parsed = schema.safeParse(params);
      if (!parsed.success) {
        throw new ResponseError(ErrorCodes.InvalidParams, `Invalid params for ${method}`, {
          issues: parsed.error.issues,
        });
      }
      return await (handler as (p: unknown, t: CancellationToken) => unknown)(parsed.data, token);
    } catch (error) {
      throw toResponseError(error, this.log, `rpc ${method.slice(0, 100)}`);
    }
  }

  /** Public so a test can check that every protocol method has a handler. */
  readonly handlers: Record<string, Handler> = {
    [InitializeRequest.method]: (params: InitializeParams): InitializeResult => {
      if (params.protocolVersion !== PROTOCOL_VERSION) {
        throw new ResponseError(
          ErrorCodes.ProtocolMismatch,
          `Protocol version ${params.protocolVersion} is not supported (server speaks ${PROTOCOL_VERSION})`,
          { serverVersion: PROTOCOL_VERSION },
        );
      }
      this.initialized = true;
      return { protocolVersion: PROTOCOL_VERSION, server: this.service.info() };
    },
    [HealthRequest.method]: () => (this.options.health ?? (() => this.service.health()))(),
    [ServerInfoRequest.method]: () => this.service.info(),
    [ModelsListRequest.method]: () => this.service.listModels(),
    [ModelsLoadRequest.method]: (params: ModelsLoadParams) => this.service.loadModel(this.confineModel(params)),
    [ModelsUnloadRequest.method]: async (params: ModelsUnloadParams) => ({
      unloaded: await this.service.unloadModel(params.id),
    }),
    [CorrectRequest.method]: (params: CorrectParams, token: CancellationToken) => this.correct(params, token),
    [ScoreRequest.method]: (params: ScoreParams) => this.service.score(params),
    [JobsStartRequest.method]: (params: JobsStartParams) => this.requireJobs().start(params),
    [JobsListRequest.method]: () => ({ jobs: this.requireJobs().list() }),
    [JobsGetRequest.method]: (params: JobIdParams) => this.requireJobs().get(params.jobId),
    [JobsCancelRequest.method]: (params: JobIdParams) => this.requireJobs().cancel(params.jobId),
    [JobsResumeRequest.method]: (params: JobIdParams) => this.requireJobs().resume(params.jobId),
    [JobsSubscribeRequest.method]: () => this.subscribeJobs(),
    [CancelRequest.method]: (params: CancelParams) => {
      const controller = this.inflight.get(params.requestId);
      if (!controller || controller.signal.aborted) return { cancelled: false };
      controller.abort();
      return { cancelled: true };
    },
  };

  /** A client names the files a model load reads: only inside the folders the server allows. */
  private confineModel(params: ModelsLoadParams): ModelsLoadParams {
    const paths = this.options.modelPaths;
    if (!paths) return params;
    return {
      ...params,
      path: paths.confine(params.path, 'model folder'),
      ...(params.chatTemplatePath ? { chatTemplatePath: paths.confine(params.chatTemplatePath, 'chat template') } : {}),
    };
  }

  private async correct(params: CorrectParams, token: CancellationToken): Promise<CorrectResult> {
    const { requestId } = params;
    if (this.inflight.has(requestId)) {
      throw new ResponseError(ErrorCodes.InvalidParams, `requestId ${requestId.slice(0, 100)} is already in flight`);
    }
    const controller = new AbortController();
    this.inflight.set(requestId, controller);
    // A `$/cancelRequest` that overtook dispatch leaves an already-cancelled token whose event
    // never fires, so check the flag as well as listening.
    const onCancel = token.onCancellationRequested(() => controller.abort());
    if (token.isCancellationRequested) controller.abort();
    try {
      return await this.service.correct(params, {
        signal: controller.signal,
        onDelta: (delta, index) => this.notifyDelta({ requestId, delta, index }),
      });
    } finally {
      onCancel.dispose();
      if (this.inflight.get(requestId) === controller) this.inflight.delete(requestId);
    }
  }
}
