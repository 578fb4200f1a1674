// Small HTTP helpers: bounded JSON body reading and JSON/error responses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return; // the client left; nothing to answer
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

export function sendHttpError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.status, error.body(), error.headers);
}

const tooLarge = (max: number) =>
  new HttpError(413, 'invalid_request_error', 'request_too_large', `Request body exceeds ${max} bytes`, null, {
    connection: 'close',
  });

/**
 * Reads a JSON body of at most `maxBytes`. Only application/json is accepted: it forces a CORS
 * preflight on cross-site browser requests, so a web page cannot fire "simple" POSTs at us.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(
      415,
      'invalid_request_error',
      'unsupported_media_type',
      'Content-Type must be application/json',
    );
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      // Keep draining (and discarding) rather than destroying the socket, so the 413 reaches the
      // client; the response's `connection: close` ends the connection afterwards.
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      reject(tooLarge(maxBytes));
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_request_error', 'invalid_json', 'Request body is not valid JSON');
  }
}

/**
 * A client that goes away cancels its generation (the engine stops at the next step): the signal
 * aborts when the response closes before it finished. `release` when the request is done.
 */
export function cancelOnClientClose(
  res: ServerResponse,
  track: (controller: AbortController) => () => void,
): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const untrack = track(controller);
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.on('close', onClose);
  return {
    signal: controller.signal,
    release: () => {
      untrack();
      res.off('close', onClose);
    },
  };
}

/** Writes one server-sent event; the event-stream headers go out with the first. */
export function writeSse(res: ServerResponse, data: unknown): void {
  if (res.destroyed) return;
  if (!res.headersSent) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
  }
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}
