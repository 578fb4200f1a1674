// Turning whatever a handler throws into a wire error: a JSON-RPC ResponseError or an OpenAI-style
// HTTP error. Only EngineError and deliberate transport errors reach the client verbatim; anything
// else becomes a generic InternalError, logged server-side, so stack traces and paths never leak.
import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes } from '../protocol/index.js';
import { EngineError } from '../engine/api.js';

export type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

export function toResponseError(error: unknown, log: Log, context: string): ResponseError<unknown> {
  if (error instanceof ResponseError) return error;
  if (error instanceof EngineError) return new ResponseError(error.code, error.message, error.data);
  log('error', `${context} failed: ${describe(error)}`);
  return new ResponseError(ErrorCodes.InternalError, 'Internal error');
}

/** An error already in OpenAI's shape: {error: {message, type, code}} with an HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): { error: { message: string; type: string; code: string; param: string | null } } {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

export function toHttpError(error: unknown, log: Log, context: string, modelRequested = false): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof EngineError) {
    switch (error.code) {
      case ErrorCodes.InvalidParams:
      case ErrorCodes.InvalidRequest:
        return new HttpError(400, 'invalid_request_error', 'invalid_request', error.message);
      case ErrorCodes.ContextOverflow:
        return new HttpError(400, 'invalid_request_error', 'context_length_exceeded', error.message, 'messages');
      case ErrorCodes.ModelNotLoaded:
        return modelRequested
          ? new HttpError(404, 'invalid_request_error', 'model_not_found', error.message, 'model')
          : new HttpError(503, 'server_error', 'model_not_loaded', error.message);
      case ErrorCodes.Overloaded:
        return new HttpError(503, 'server_error', 'overloaded', error.message, null, { 'retry-after': '1' });
      case ErrorCodes.RequestCancelled:
        return new HttpError(503, 'server_error', 'cancelled', error.message);
      case ErrorCodes.BackendUnavailable:
        return new HttpError(502, 'server_error', 'backend_unavailable', error.message);
      case ErrorCodes.ModelLoadFailed:
        return new HttpError(500, 'server_error', 'model_load_failed', error.message);
      default:
        return new HttpError(500, 'server_error', 'internal_error', error.message);
    }
  }
  log('error', `${context} failed: ${describe(error)}`);
  return new HttpError(500, 'server_error', 'internal_error', 'Internal error');
}
