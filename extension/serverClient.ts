// The extension's view of a server connection: the transport's reusable client
// (server/transport/client.ts) plus typed helpers for the other requests, and requests that fail at
// once with a clear message when the connection drops (e.g. the server died mid-stream).
import {
  CancelRequest,
  HealthRequest,
  ModelsListRequest,
  ModelsLoadRequest,
  ServerLogNotification,
  type CorrectDelta,
  type CorrectParams,
  type CorrectResult,
  type HealthResult,
  type InitializeResult,
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

  constructor(private readonly client: AlignerClient) {
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
  dispose(): void {
    void this.client.close();
  }
}
