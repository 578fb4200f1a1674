// The correcting proxy's connection to its upstream OpenAI-compatible endpoint (OpenAI, vLLM,
// Ollama, llama.cpp server, LM Studio, another `aligner serve`). Every failure comes out as an
// HttpError in OpenAI's shape with the status a client should see; attempts and their timeouts are
// bounded. The key only ever goes into the Authorization header: never into a log or an error.
import { HttpError } from '../transport/errors.js';

export interface UpstreamOptions {
  /** Base URL ending in /v1 (a bare http://host:port gets /v1), or the full …/chat/completions URL. */
  url: string;
  /** Model name sent upstream when the client names none of ours. */
  model: string;
  /** API key (the value, read from the environment by the caller). */
  key?: string;
  /** Per attempt: until the whole answer (JSON) or the response headers and then between chunks (streams). */
  timeoutMs?: number;
  /** Further attempts after a network error, a timeout, 408, 429 or 5xx. */
  retries?: number;
  /** First backoff; doubled per attempt, or the upstream's Retry-After (capped at MAX_BACKOFF_MS). */
  backoffMs?: number;
}

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 120_000;
export const DEFAULT_UPSTREAM_RETRIES = 2;
const DEFAULT_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function chatCompletionsUrl(url: string): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = path.endsWith('/chat/completions') ? path : `${path || '/v1'}/chat/completions`;
  return u.toString();
}

export interface UpstreamAnswer {
  json: Record<string, unknown>;
  attempts: number;
}

/** Thrown for a timeout of ours (never for the client's own abort). */
class AttemptTimeout extends Error {}

export class UpstreamClient {
  readonly url: string;
  readonly model: string;
  private readonly key: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(options: UpstreamOptions) {
    this.url = chatCompletionsUrl(options.url);
    this.model = options.model;
    this.key = options.key || undefined;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_UPSTREAM_RETRIES;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  }

  /** Where the upstream is, for messages: origin only (a URL could carry credentials). */
  get origin(): string {
    return new URL(this.url).origin;
  }

  /** A non-streamed chat completion. */
  async complete(body: object, signal: AbortSignal): Promise<UpstreamAnswer> {
    const text = JSON.stringify({ ...body, stream: false, stream_options: undefined });
    let attempts = 0;
    const json = await this.withRetries(signal, async (attemptSignal) => {
      attempts++;
      const res = await this.post(text, attemptSignal);
      const raw = await res.text();
      if (!res.ok) throw upstreamStatusError(res, raw);
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw badResponse('answered with something that is not JSON');
      }
      if (!parsed || typeof parsed !== 'object') throw badResponse('answered with something that is not an object');
      return parsed as Record<string, unknown>;
    });
    return { json, attempts };
  }

  /**
   * A streamed chat completion passed through untouched. Resolves once the upstream answered 2xx
   * (so errors before that still get a real status); the stream is then the caller's to read.
   * Each wait (for headers, then for every next chunk) is bounded by the timeout.
   */
  async stream(body: object, signal: AbortSignal): Promise<{ body: AsyncIterable<Uint8Array>; contentType: string }> {
    const text = JSON.stringify({ ...body, stream: true });
    return this.withRetries(signal, async (attemptSignal, idle) => {
      const res = await this.post(text, attemptSignal);
      if (!res.ok) throw upstreamStatusError(res, await res.text());
      if (!res.body) throw badResponse('answered without a body');
      const reader = res.body.getReader();
      async function* chunks(): AsyncIterable<Uint8Array> {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            idle.reset();
            yield value;
          }
        } finally {
          idle.clear();
          reader.releaseLock();
        }
      }
      idle.reset();
      idle.keep();
      return { body: chunks(), contentType: res.headers.get('content-type') ?? 'text/event-stream' };
    });
  }

  private post(body: string, signal: AbortSignal): Promise<Response> {
    return fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
      },
      body,
      signal,
    });
  }

  private async withRetries<T>(
    signal: AbortSignal,
    attempt: (signal: AbortSignal, idle: IdleTimer) => Promise<T>,
  ): Promise<T> {
    for (let n = 0; ; n++) {
      const idle = new IdleTimer(this.timeoutMs);
      const attemptSignal = AbortSignal.any([signal, idle.signal]);
      try {
        const value = await attempt(attemptSignal, idle);
        if (!idle.kept) idle.clear();
        return value;
      } catch (err) {
        idle.clear();
        if (signal.aborted) throw signal.reason ?? err;
        const failure = this.describeFailure(idle.fired ? new AttemptTimeout() : err);
        if (n >= this.retries || !failure.retryable) throw failure.error;
        await sleep(failure.retryAfterMs ?? this.backoffMs * 2 ** n, signal);
      }
    }
  }

  private describeFailure(err: unknown): { error: HttpError; retryable: boolean; retryAfterMs?: number } {
    if (err instanceof HttpError) {
      const retryAfter = Number(err.headers['retry-after']);
      return {
        error: err,
        retryable: RETRY_STATUS.has(Number(err.headers['x-upstream-status'])),
        ...(Number.isFinite(retryAfter) && retryAfter >= 0
          ? { retryAfterMs: Math.min(retryAfter * 1000, MAX_BACKOFF_MS) }
          : {}),
      };
    }
    if (err instanceof AttemptTimeout) {
      return {
        error: new HttpError(
          504,
          'server_error',
          'upstream_timeout',
          `The upstream model at ${this.origin} did not answer within ${this.timeoutMs} ms`,
        ),
        retryable: true,
      };
    }
    // fetch's TypeError("fetch failed") carries the socket error as its cause.
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    const why = cause?.code ?? cause?.message ?? (err as Error)?.message ?? 'network error';
    return {
      error: new HttpError(
        502,
        'server_error',
        'upstream_unavailable',
        `The upstream model at ${this.origin} could not be reached (${why})`,
      ),
      retryable: true,
    };
  }
}

/** The upstream's own error, mapped to what our client should see. */
function upstreamStatusError(res: Response, raw: string): HttpError {
  let message = raw.slice(0, 500);
  let code: string | undefined;
  let param: string | null = null;
  try {
    const error = (JSON.parse(raw) as { error?: { message?: unknown; code?: unknown; param?: unknown } }).error;
    if (typeof error?.message === 'string') message = error.message;
    if (typeof error?.code === 'string') code = error.code;
    if (typeof error?.param === 'string') param = error.param;
  } catch {
    // not JSON: the text itself is the message
  }
  const headers: Record<string, string> = { 'x-upstream-status': String(res.status) };
  const retryAfter = res.headers.get('retry-after');
  if (retryAfter) headers['retry-after'] = retryAfter;
  const status = res.status;
  const text = `Upstream answered ${status}: ${message}`;
  // The client's request was at fault: same status, the upstream's own code.
  if ([400, 404, 409, 413, 422].includes(status)) {
    return new HttpError(status, 'invalid_request_error', code ?? 'upstream_invalid_request', text, param, headers);
  }
  if (status === 429)
    return new HttpError(429, 'rate_limit_error', code ?? 'upstream_rate_limited', text, null, headers);
  // The proxy's own key is wrong: not the client's credentials, so not a 401 to the client.
  if (status === 401 || status === 403) {
    return new HttpError(502, 'server_error', 'upstream_auth_failed', text, null, headers);
  }
  if (status === 408 || status === 504)
    return new HttpError(504, 'server_error', 'upstream_timeout', text, null, headers);
  return new HttpError(502, 'server_error', 'upstream_error', text, null, headers);
}

const badResponse = (why: string) =>
  new HttpError(502, 'server_error', 'upstream_bad_response', `The upstream model ${why}`);

/** A timeout that can be re-armed: per attempt, then per chunk of a stream. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  fired = false;
  kept = false;

  constructor(private readonly ms: number) {
    this.reset();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  reset(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(new AttemptTimeout());
    }, this.ms);
    this.timer.unref();
  }

  /** The caller goes on reading (a stream): the timer outlives the attempt. */
  keep(): void {
    this.kept = true;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
