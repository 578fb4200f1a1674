// Server-sent events in OpenAI's chat.completion.chunk format. Headers go out with the first
// chunk, so that errors raised before any text can still be sent with a real status.
import type { ServerResponse } from 'node:http';

export interface ChunkMeta {
  id: string;
  created: number;
  model: string;
}

export class SseWriter {
  private opened = false;

  /** `opening`: extra top-level fields for the first chunk (the one with the assistant role). */
  constructor(
    private readonly res: ServerResponse,
    private readonly meta: ChunkMeta,
    private readonly opening: object = {},
  ) {}

  get started(): boolean {
    return this.opened;
  }

  chunk(delta: object, finishReason: string | null, extra: object = {}): void {
    this.send(this.body(delta, finishReason, extra));
  }

  usage(usage: object): void {
    this.send({ ...this.body({}, null), choices: [], usage });
  }

  /** A failure after the stream began is reported in-band, as OpenAI does; then the stream ends. */
  error(body: object): void {
    this.send(body);
    this.end();
  }

  done(): void {
    this.send('[DONE]');
    this.end();
  }

  end(): void {
    if (!this.res.destroyed) this.res.end();
  }

  private body(delta: object, finishReason: string | null, extra: object = {}) {
    return {
      id: this.meta.id,
      object: 'chat.completion.chunk',
      created: this.meta.created,
      model: this.meta.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...extra,
    };
  }

  private send(data: unknown): void {
    const res = this.res;
    if (res.destroyed) return;
    if (!this.opened) {
      this.opened = true;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
      });
      res.write(`data: ${JSON.stringify(this.body({ role: 'assistant', content: '' }, null, this.opening))}\n\n`);
    }
    res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }
}
