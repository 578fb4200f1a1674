// Client side of the WebSocket JSON-RPC protocol, for tests, the CLI and the VS Code extension.
// Depends only on ws, vscode-jsonrpc and the protocol module.
import WebSocket from 'ws';
import { createMessageConnection, type MessageConnection } from 'vscode-jsonrpc';
import {
  CancelRequest,
  CorrectDeltaNotification,
  CorrectRequest,
  InitializeRequest,
  PROTOCOL_VERSION,
  type CorrectDelta,
  type CorrectParams,
  type CorrectResult,
  type InitializeResult,
} from '../protocol/index.js';
import { WebSocketMessageReader, WebSocketMessageWriter } from './wsMessageTransport.js';

export interface ConnectOptions {
  /** Sent as the Origin header (non-browser clients normally send none). */
  origin?: string;
  client?: { name: string; version: string };
  /** Defaults to this build's PROTOCOL_VERSION. */
  protocolVersion?: number;
  /** Gives up on the TCP + WebSocket handshake after this long (default 10 s). */
  handshakeTimeoutMs?: number;
}

export interface CorrectOptions {
  /** Each streamed delta of this request, in order. */
  onDelta?: (delta: CorrectDelta) => void;
  /** Aborting sends `cancel`; the request then resolves with finishReason 'cancelled'. */
  signal?: AbortSignal;
}

export interface AlignerClient {
  /** The typed JSON-RPC connection, already initialized; use the protocol's RequestTypes on it. */
  readonly connection: MessageConnection;
  readonly initializeResult: InitializeResult;
  /** `correct` with its deltas routed to onDelta (the connection has one delta handler, this). */
  correct(params: CorrectParams, options?: CorrectOptions): Promise<CorrectResult>;
  /** Resolves once the socket has closed. */
  close(): Promise<void>;
  /** Resolves when the connection closes, whichever side closed it. */
  readonly closed: Promise<void>;
}

/** The server refused the connection; `status` is the HTTP status of the refused upgrade. */
export class AlignerConnectError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AlignerConnectError';
  }
}

function openSocket(wsUrl: string, token: string, options: ConnectOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${token}` },
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      perMessageDeflate: false,
    });
    const onError = (error: Error) => {
      ws.off('open', onOpen);
      const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1];
      reject(
        new AlignerConnectError(`Cannot connect to ${wsUrl}: ${error.message}`, status ? Number(status) : undefined),
      );
    };
    const onOpen = () => {
      ws.off('error', onError);
      resolve(ws);
    };
    ws.once('error', onError);
    ws.once('open', onOpen);
  });
}

/** Connects, performs the `initialize` handshake, and returns the ready client. */
export async function connectAligner(
  wsUrl: string,
  token: string,
  options: ConnectOptions = {},
): Promise<AlignerClient> {
  const ws = await openSocket(wsUrl, token, options);
  ws.on('error', () => {}); // surfaced through the connection's close instead
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const connection = createMessageConnection(new WebSocketMessageReader(ws), new WebSocketMessageWriter(ws));

  const deltaListeners = new Map<string, (d: CorrectDelta) => void>();
  connection.onNotification(CorrectDeltaNotification, (d) => deltaListeners.get(d.requestId)?.(d));
  connection.listen();
  void closed.then(() => connection.dispose());

  let initializeResult: InitializeResult;
  try {
    initializeResult = await connection.sendRequest(InitializeRequest, {
      protocolVersion: options.protocolVersion ?? PROTOCOL_VERSION,
      ...(options.client ? { client: options.client } : {}),
    });
  } catch (error) {
    ws.close();
    throw error;
  }

  return {
    connection,
    initializeResult,
    closed,
    async correct(params, opts = {}) {
      const { requestId } = params;
      if (opts.onDelta) deltaListeners.set(requestId, opts.onDelta);
      const onAbort = () => void connection.sendRequest(CancelRequest, { requestId }).catch(() => {});
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        // sendRequest writes synchronously, so a cancel for an already-aborted signal follows it.
        const pending = connection.sendRequest(CorrectRequest, params);
        if (opts.signal?.aborted) onAbort();
        return await pending;
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        deltaListeners.delete(requestId);
      }
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close(1000);
      await closed;
    },
  };
}
