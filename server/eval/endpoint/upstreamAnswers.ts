// Answers to prompt rows from the upstream endpoint, cached in the output folder
// (upstream-cache.jsonl, one {key, model, question, answer} per line, appended as they arrive) so
// that a resumed or forced rerun never pays for the same answer twice.
import { createHash } from 'node:crypto';
import type { ChatTurn } from '../../protocol/index.js';
import { JsonlAppender, readJsonl } from '../store/jsonlFile.js';
import { ChatClient, questionMessages, type EndpointOptions } from './chatClient.js';

export const UPSTREAM_CACHE_FILE = 'upstream-cache.jsonl';

/** The model name, the answer length limit and the prompt identify an answer (not the URL). */
export function upstreamKey(
  model: string,
  maxTokens: number | undefined,
  question: string,
  context?: ChatTurn[],
): string {
  return createHash('sha256')
    .update(JSON.stringify([model, maxTokens ?? null, context ?? [], question]))
    .digest('hex');
}

export class UpstreamAnswers {
  private readonly cache = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string>>();
  private readonly client: ChatClient;
  private readonly file: JsonlAppender;

  constructor(
    private readonly options: EndpointOptions,
    cachePath: string,
  ) {
    this.client = new ChatClient(options);
    this.file = new JsonlAppender(cachePath);
    // A line cut short by an interruption is skipped: that answer is fetched again.
    for (const e of readJsonl<{ key?: unknown; answer?: unknown }>(cachePath).records) {
      if (typeof e.key === 'string' && typeof e.answer === 'string') this.cache.set(e.key, e.answer);
    }
  }

  get cached(): number {
    return this.cache.size;
  }

  /** The upstream answer to a question; concurrent asks for the same prompt share one request. */
  answer(question: string, context: ChatTurn[] | undefined, signal?: AbortSignal): Promise<string> {
    const key = upstreamKey(this.options.model, this.options.maxTokens, question, context);
    const hit = this.cache.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = this.pending.get(key);
    if (!p) {
      p = this.client.complete(questionMessages(question, context), signal).then((answer) => {
        this.cache.set(key, answer);
        this.file.append({ key, model: this.options.model, question, answer });
        return answer;
      });
      p.finally(() => this.pending.delete(key)).catch(() => undefined);
      this.pending.set(key, p);
    }
    return p;
  }

  close(): void {
    this.file.close();
  }
}
