// A minimal OpenAI-compatible chat-completions client for the upstream LLM and the LLM judge.
// The API key is read from an environment variable and only ever put in the Authorization
// header: it is never logged, stored in run.json, or included in an error message.
import { z } from 'zod';
import type { ChatTurn } from '../../protocol/index.js';

export interface EndpointOptions {
  /** Base URL (http://host:port, …/v1) or the full …/chat/completions URL. */
  endpoint: string;
  model: string;
  /** Name of the environment variable holding the API key (sent as a bearer token). */
  keyEnv?: string;
  maxTokens?: number;
  /**
   * Appends an assistant message with this text. An Aligner server's OpenAI route corrects a final
   * assistant draft and refuses requests without one; '' makes it answer from scratch.
   */
  appendDraft?: string;
  /** Per-request timeout; default 10 minutes (long answers from slow endpoints). */
  timeoutMs?: number;
  /** Retries on network errors, 408, 409, 429 and 5xx; default 3. */
  retries?: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const ResponseSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.union([z.string(), z.array(z.object({ text: z.string().optional() })), z.null()]).optional(),
        }),
      }),
    )
    .min(1),
});

/** OpenAI clients take a base URL ending in /v1; a bare host gets /v1 added. */
export function chatCompletionsUrl(endpoint: string): string {
  const url = new URL(endpoint);
  const path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith('/chat/completions')) url.pathname = path;
  else url.pathname = `${path || '/v1'}/chat/completions`;
  return url.toString();
}

export class EndpointError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EndpointError';
  }
}

const RETRY_STATUS = new Set([408, 409, 429, 500, 502, 503, 504]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export class ChatClient {
  readonly url: string;
  private readonly key: string | undefined;

  constructor(readonly options: EndpointOptions) {
    this.url = chatCompletionsUrl(options.endpoint);
    if (options.keyEnv !== undefined) {
      const key = process.env[options.keyEnv];
      if (!key) throw new Error(`environment variable ${options.keyEnv} (the API key for ${this.url}) is not set`);
      this.key = key;
    }
  }

  /** The text of the first choice; greedy (temperature 0) so that reruns ask the same. */
  async complete(messages: ChatMessage[], signal?: AbortSignal): Promise<string> {
    const all =
      this.options.appendDraft === undefined
        ? messages
        : [...messages, { role: 'assistant' as const, content: this.options.appendDraft }];
    const body = JSON.stringify({
      model: this.options.model,
      messages: all,
      temperature: 0,
      ...(this.options.maxTokens ? { max_tokens: this.options.maxTokens } : {}),
      stream: false,
    });
    const retries = this.options.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(body, signal);
      } catch (err) {
        const status = err instanceof EndpointError ? err.status : undefined;
        const retryable = status === undefined ? !(err instanceof EndpointError) : RETRY_STATUS.has(status);
        if (signal?.aborted || !retryable || attempt >= retries) throw err;
        await sleep(1000 * 2 ** attempt, signal);
      }
    }
  }

  private async once(body: string, signal?: AbortSignal): Promise<string> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 600_000);
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
      },
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = JSON.parse(text)?.error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new EndpointError(`${this.url} answered ${res.status}: ${message}`, res.status);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new EndpointError(`${this.url} answered with non-JSON: ${text.slice(0, 200)}`, res.status);
    }
    const parsed = ResponseSchema.safeParse(json);
    if (!parsed.success) throw new EndpointError(`${this.url} answered without choices[0].message`, res.status);
    const content = parsed.data.choices[0]!.message.content;
    if (typeof content === 'string') return content;
    return (content ?? []).map((p) => p.text ?? '').join('');
  }
}

/** The question and its earlier dialogue as chat messages. */
export function questionMessages(question: string, context?: ChatTurn[]): ChatMessage[] {
  return [...(context ?? []).map((t) => ({ role: t.role, content: t.content })), { role: 'user', content: question }];
}
