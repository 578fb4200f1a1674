// vscode-jsonrpc reader/writer over a WebSocket: one JSON-RPC message per text frame.
// Depends only on vscode-jsonrpc and the structural `WebSocketLike` below, so the same code runs
// on the server (ws), in the extension host (ws) and in a browser or webview (native WebSocket).
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  type DataCallback,
  type Disposable,
  type Message,
  type MessageReader,
  type MessageWriter,
} from 'vscode-jsonrpc';

/** What the adapters read from message/close/error events (browser and `ws` events alike). */
export interface WebSocketEventLike {
  type: string;
  data?: unknown;
  error?: unknown;
  message?: string;
}

/** The subset of the WebSocket API (browser and `ws` alike) the adapters use. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message' | 'close' | 'error', listener: (event: WebSocketEventLike) => void): void;
  removeEventListener(type: 'message' | 'close' | 'error', listener: (event: WebSocketEventLike) => void): void;
}

/** WebSocket.OPEN, spelled out so this module needs no WebSocket implementation. */
const OPEN = 1;

// JSON-RPC 2.0 codes the reader reports; equal to ErrorCodes in server/protocol.
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/**
 * A frame that is not a usable JSON-RPC message. Fired on the reader's onError (never passed to
 * the connection, which would only log it); the server answers it with an error response.
 */
export class InvalidMessageError extends Error {
  constructor(
    readonly code: typeof PARSE_ERROR | typeof INVALID_REQUEST,
    message: string,
    /** The id of the offending request when one could be read, else null (as JSON-RPC asks). */
    readonly id: string | number | null,
  ) {
    super(message);
    this.name = 'InvalidMessageError';
  }
}

type JsonRpcId = string | number | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is JsonRpcId =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || v === null;

/**
 * Parses one frame into a JSON-RPC message, or returns why it is not one. vscode-jsonrpc trusts
 * its reader, and some malformed shapes (e.g. `$/cancelRequest` without params) make it throw, so
 * everything is checked here.
 */
export function parseJsonRpcMessage(data: unknown): Message | InvalidMessageError {
  if (typeof data !== 'string') {
    return new InvalidMessageError(PARSE_ERROR, 'Parse error: binary frames are not supported', null);
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return new InvalidMessageError(PARSE_ERROR, 'Parse error: invalid JSON', null);
  }
  if (Array.isArray(value)) {
    return new InvalidMessageError(INVALID_REQUEST, 'Invalid Request: batches are not supported', null);
  }
  if (!isObject(value)) {
    return new InvalidMessageError(INVALID_REQUEST, 'Invalid Request: expected an object', null);
  }
  const id = 'id' in value && isId(value.id) ? value.id : null;
  const invalid = (why: string) => new InvalidMessageError(INVALID_REQUEST, `Invalid Request: ${why}`, id);
  if (value.jsonrpc !== '2.0') return invalid('jsonrpc must be "2.0"');
  if ('method' in value) {
    if (typeof value.method !== 'string') return invalid('method must be a string');
    // null params are tolerated (treated as absent); anything else must be structured.
    if ('params' in value && value.params !== null && typeof value.params !== 'object') {
      return invalid('params must be an object or an array');
    }
    if ('id' in value && (value.id === null || !isId(value.id))) {
      return invalid('id must be a string or a number');
    }
    const message = { ...value };
    if (message.params === null) delete message.params;
    if (message.method === '$/cancelRequest' && !('id' in message)) {
      const p = message.params;
      if (!isObject(p) || (typeof p.id !== 'string' && typeof p.id !== 'number')) {
        return invalid('$/cancelRequest needs params.id');
      }
    }
    return message as unknown as Message;
  }
  if ('id' in value && isId(value.id) && ('result' in value || isObject(value.error))) {
    return value as unknown as Message;
  }
  return invalid('neither a request, a notification nor a response');
}

/** Reads JSON-RPC messages from a WebSocket; frames that arrive before listen() are buffered. */
export class WebSocketMessageReader extends AbstractMessageReader implements MessageReader {
  private callback: DataCallback | undefined;
  private readonly buffered: Message[] = [];

  constructor(private readonly socket: WebSocketLike) {
    super();
    socket.addEventListener('message', this.onMessage);
    socket.addEventListener('close', this.onClose_);
    socket.addEventListener('error', this.onError_);
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    for (const message of this.buffered.splice(0)) this.deliver(message);
    return { dispose: () => (this.callback = undefined) };
  }

  override dispose(): void {
    this.socket.removeEventListener('message', this.onMessage);
    this.socket.removeEventListener('close', this.onClose_);
    this.socket.removeEventListener('error', this.onError_);
    super.dispose();
  }

  private deliver(message: Message): void {
    // A throwing callback must not escape into the socket's event loop and take the process down.
    try {
      this.callback?.(message);
    } catch (error) {
      this.fireError(error);
    }
  }

  private readonly onMessage = (event: WebSocketEventLike): void => {
    const parsed = parseJsonRpcMessage(event.data);
    if (parsed instanceof InvalidMessageError) this.fireError(parsed);
    else if (this.callback) this.deliver(parsed);
    else this.buffered.push(parsed);
  };

  private readonly onClose_ = (): void => this.fireClose();

  private readonly onError_ = (event: WebSocketEventLike): void =>
    this.fireError(event.error ?? new Error(event.message ?? 'WebSocket error'));
}

/** Writes each JSON-RPC message as one text frame. */
export class WebSocketMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private errorCount = 0;

  constructor(private readonly socket: WebSocketLike) {
    super();
  }

  async write(message: Message): Promise<void> {
    // A closed socket is the normal end of a connection, not an error worth an event per message.
    if (this.socket.readyState !== OPEN) throw new Error('WebSocket is not open');
    try {
      this.socket.send(JSON.stringify(message));
    } catch (error) {
      this.fireError(error, message, ++this.errorCount);
      throw error;
    }
  }

  end(): void {}
}
