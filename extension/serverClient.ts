// The extension's view of a server connection: the transport's reusable client
// (server/transport/client.ts) plus typed helpers for the other requests, and requests that fail at
// once with a clear message when the connection drops (e.g. the server died mid-stream).
import {
  CancelRequest,
  HealthRequest,
  JobEventNotification,
  JobsCancelRequest,
  JobsGetRequest,
  JobsListRequest,
  JobsResumeRequest,
  JobsStartRequest,
  JobsSubscribeRequest,
  JobStatusNotification,
  ModelsListRequest,
  ModelsLoadRequest,
  ServerLogNotification,
  type CorrectDelta,
  type CorrectParams,
  type CorrectResult,
  type HealthResult,
  type InitializeResult,
  type JobDetail,
  type JobEvent,
  type JobInfo,
  type JobsStartParams,
  type ModelInfo,
  type ModelsListResult,
  type ModelsLoadParams,
  type ServerLog,
} from '../server/protocol/index.js';
import { connectAligner, type AlignerClient } from '../server/transport/client.js';

export interface AlignerConnection {
  readonly info: InitializeResult;
  health(): Promise<HealthResult>;
  listModels(): Promise<ModelsListResult>;
  loadModel(params: ModelsLoadParams): Promise<ModelInfo>;
  /** Streams deltas to `onDelta` and resolves with the final result (finishReason 'cancelled' if cancelled). */
  correct(params: CorrectParams, onDelta: (delta: CorrectDelta) => void): Promise<CorrectResult>;
  cancel(requestId: string): Promise<void>;
  onClose(listener: () => void): void;
  onLog(listener: (log: ServerLog) => void): void;
  // Jobs (training, export, evaluation).
  startJob(params: JobsStartParams): Promise<JobInfo>;
  listJobs(): Promise<JobInfo[]>;
  getJob(jobId: string): Promise<JobDetail>;
  cancelJob(jobId: string): Promise<JobInfo>;
  resumeJob(jobId: string): Promise<JobInfo>;
  /** Asks the server for jobs/status and jobs/event notifications on this connection. */
  subscribeJobs(): Promise<void>;
  onJobStatus(listener: (job: JobInfo) => void): () => void;
  onJobEvent(listener: (event: JobEvent) => void): () => void;
  dispose(): void;
}

export async function connect(wsUrl: string, token: string, clientVersion: string): Promise<AlignerConnection> {
  const client = await connectAligner(wsUrl, token, { client: { name: 'aligner-vscode', version: clientVersion } });
  return new Connection(client);
}

export const CONNECTION_LOST = 'the connection to the Aligner server was lost';

class Connection implements AlignerConnection {
  private readonly closeListeners: (() => void)[] = [];
  private readonly pending = new Set<(err: Error) => void>();
  private closed = false;
  // vscode-jsonrpc keeps one handler per notification method: register once, fan out to listeners.
  private readonly jobStatusListeners = new Set<(job: JobInfo) => void>();
  private readonly jobEventListeners = new Set<(event: JobEvent) => void>();

  constructor(private readonly client: AlignerClient) {
    client.connection.onNotification(JobStatusNotification, (job) => this.jobStatusListeners.forEach((l) => l(job)));
    client.connection.onNotification(JobEventNotification, (e) => this.jobEventListeners.forEach((l) => l(e)));
    void client.closed.then(() => {
      this.closed = true;
      for (const reject of this.pending) reject(new Error(CONNECTION_LOST));
      this.pending.clear();
      for (const l of this.closeListeners) l();
    });
  }

  get info(): InitializeResult {
    return this.client.initializeResult;
  }

  /** A request that also fails as soon as the connection drops. */
  private request<R>(send: () => Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new Error(CONNECTION_LOST));
    return new Promise<R>((resolve, reject) => {
      this.pending.add(reject);
      send()
        .then(resolve, reject)
        .finally(() => this.pending.delete(reject));
    });
  }

  health(): Promise<HealthResult> {
    return this.request(() => this.client.connection.sendRequest(HealthRequest, undefined));
  }
  listModels(): Promise<ModelsListResult> {
    return this.request(() => this.client.connection.sendRequest(ModelsListRequest, undefined));
  }
  loadModel(params: ModelsLoadParams): Promise<ModelInfo> {
    return this.request(() => this.client.connection.sendRequest(ModelsLoadRequest, params));
  }
  correct(params: CorrectParams, onDelta: (delta: CorrectDelta) => void): Promise<CorrectResult> {
    return this.request(() => this.client.correct(params, { onDelta }));
  }
  async cancel(requestId: string): Promise<void> {
    await this.request(() => this.client.connection.sendRequest(CancelRequest, { requestId }));
  }
  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }
  onLog(listener: (log: ServerLog) => void): void {
    this.client.connection.onNotification(ServerLogNotification, listener);
  }
  startJob(params: JobsStartParams): Promise<JobInfo> {
    return this.request(() => this.client.connection.sendRequest(JobsStartRequest, params));
  }
  async listJobs(): Promise<JobInfo[]> {
    return (await this.request(() => this.client.connection.sendRequest(JobsListRequest, undefined))).jobs;
  }
  getJob(jobId: string): Promise<JobDetail> {
    return this.request(() => this.client.connection.sendRequest(JobsGetRequest, { jobId }));
  }
  cancelJob(jobId: string): Promise<JobInfo> {
    return this.request(() => this.client.connection.sendRequest(JobsCancelRequest, { jobId }));
  }
  resumeJob(jobId: string): Promise<JobInfo> {
    return this.request(() => this.client.connection.sendRequest(JobsResumeRequest, { jobId }));
  }
  async subscribeJobs(): Promise<void> {
    await this.request(() => this.client.connection.sendRequest(JobsSubscribeRequest, undefined));
  }
  onJobStatus(listener: (job: JobInfo) => void): () => void {
    this.jobStatusListeners.add(listener);
    return () => this.jobStatusListeners.delete(listener);
  }
  onJobEvent(listener: (event: JobEvent) => void): () => void {
    this.jobEventListeners.add(listener);
    return () => this.jobEventListeners.delete(listener);
  }
  dispose(): void {
    void this.client.close();
  }
}
