// Server-sent events in OpenAI's chat.completion.chunk format. Headers go out with the first
// chunk, so that errors raised before any text can still be sent with a real status.
import type { ServerResponse } from 'node:http';
import { writeSse } from '../transport/httpUtil.js';

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
    if (this.res.destroyed) return;
    if (!this.opened) {
      this.opened = true;
      writeSse(this.res, this.body({ role: 'assistant', content: '' }, null, this.opening));
    }
    writeSse(this.res, data);
  }
}
