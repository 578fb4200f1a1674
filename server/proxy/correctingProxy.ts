// The correcting proxy: POST /v1/chat/completions whose last message is not an assistant draft is
// answered by the upstream model, and that answer is corrected by the loaded Aligner. The client
// gets the correction as the assistant message plus an `aligner` object (the original answer, both
// models, usage of both, timings). Requests an Aligner must not rewrite pass through, marked.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CorrectResult, FinishReason } from '../protocol/index.js';
import type { AlignerService, CorrectionInput } from '../engine/api.js';
import { HttpError, toHttpError, type Log } from '../transport/errors.js';
import { cancelOnClientClose, sendJson } from '../transport/httpUtil.js';
import {
  correctionInputFor,
  forwardedBody,
  parseProxyBody,
  readUpstreamChoice,
  requestPassThroughReason,
  type PassThroughReason,
  type ProxyBody,
} from './proxyRequest.js';
import { SseWriter } from './sseWriter.js';
import type { UpstreamClient } from './upstreamClient.js';

export interface CorrectingProxyOptions {
  upstream: UpstreamClient;
  service: AlignerService;
  log: Log;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const finishReason = (r: FinishReason): 'stop' | 'length' => (r === 'length' ? 'length' : 'stop');

const alignerUsage = (r: CorrectResult): Usage => ({
  prompt_tokens: r.usage.promptTokens,
  completion_tokens: r.usage.completionTokens,
  total_tokens: r.usage.promptTokens + r.usage.completionTokens,
});

/** The upstream's usage if it reported one in OpenAI's shape. */
function upstreamUsage(json: Record<string, unknown>): Usage | null {
  const u = json.usage as Partial<Usage> | undefined;
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return null;
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.total_tokens ?? u.prompt_tokens + u.completion_tokens,
  };
}

const sumUsage = (a: Usage | null, b: Usage): Usage =>
  a
    ? {
        prompt_tokens: a.prompt_tokens + b.prompt_tokens,
        completion_tokens: a.completion_tokens + b.completion_tokens,
        total_tokens: a.total_tokens + b.total_tokens,
      }
    : b;

const roundMs = (ms: number) => Math.round(ms * 10) / 10;

export class CorrectingProxy {
  constructor(private readonly options: CorrectingProxyOptions) {}

  get upstreamModel(): string {
    return this.options.upstream.model;
  }

  /**
   * Which upstream model and which Aligner serve a request's `model`: one of our Aligners (the
   * upstream's default model answers), nothing (both defaults), or any other name (the upstream's
   * model of that name answers, our default Aligner corrects).
   */
  private route(body: ProxyBody): { upstreamModel: string; alignerModel: string | undefined } {
    const requested = body.model ?? undefined;
    const aligners = this.options.service.listModels().models.filter((m) => (m.role ?? 'aligner') === 'aligner');
    const named = body.aligner?.model;
    if (requested && aligners.some((m) => m.id === requested)) {
      return { upstreamModel: this.upstreamModel, alignerModel: named ?? requested };
    }
    return { upstreamModel: requested ?? this.upstreamModel, alignerModel: named };
  }

  async handle(raw: unknown, res: ServerResponse, track: (c: AbortController) => () => void): Promise<void> {
    const body = parseProxyBody(raw);
    const client = cancelOnClientClose(res, track);
    try {
      const { upstreamModel, alignerModel } = this.route(body);
      const forwarded = forwardedBody(body, upstreamModel);
      const reason = requestPassThroughReason(body);
      if (reason) return await this.passThrough(forwarded, body, reason, res, client.signal);
      // Bad Aligner options fail now, before the upstream is paid for an answer.
      correctionInputFor(body, '', 'check', alignerModel);
      await this.correct(forwarded, body, alignerModel, res, client.signal);
    } catch (error) {
      if (client.signal.aborted && !(error instanceof HttpError)) return; // the client left
      throw toHttpError(error, this.options.log, 'correcting proxy', Boolean(body.aligner?.model));
    } finally {
      client.release();
    }
  }

  private async correct(
    forwarded: Record<string, unknown>,
    body: ProxyBody,
    alignerModel: string | undefined,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    const upstream = await this.options.upstream.complete(forwarded, signal);
    const upstreamMs = performance.now() - started;
    const choice = readUpstreamChoice(upstream.json);
    const model = typeof upstream.json.model === 'string' ? upstream.json.model : String(forwarded.model);
    const base = {
      upstream_model: model,
      upstream_finish_reason: choice.finishReason,
    };
    if (choice.reason) {
      // A tool call (or no text) is not an answer to correct: the upstream's answer as it came.
      const marker = {
        corrected: false,
        reason: choice.reason,
        ...base,
        usage: { upstream: upstreamUsage(upstream.json), aligner: null },
        timings: { upstream_ms: roundMs(upstreamMs), upstream_attempts: upstream.attempts },
      };
      if (body.stream) return this.replayAsStream(upstream.json, marker, res);
      return sendJson(res, 200, { ...upstream.json, aligner: marker });
    }

    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const input: CorrectionInput = correctionInputFor(body, choice.text ?? '', id, alignerModel);
    const alignerStarted = performance.now();
    const created = Math.floor(Date.now() / 1000);
    const summary = (result: CorrectResult) => {
      const usageOfAligner = alignerUsage(result);
      const usageOfUpstream = upstreamUsage(upstream.json);
      return {
        usage: sumUsage(usageOfUpstream, usageOfAligner),
        aligner: {
          corrected: true,
          original: choice.text,
          ...base,
          aligner_model: result.model,
          usage: { upstream: usageOfUpstream, aligner: usageOfAligner },
          timings: {
            upstream_ms: roundMs(upstreamMs),
            upstream_attempts: upstream.attempts,
            aligner_ms: roundMs(performance.now() - alignerStarted),
            aligner_first_token_ms: result.timings.firstTokenMs === null ? null : roundMs(result.timings.firstTokenMs),
            total_ms: roundMs(performance.now() - started),
          },
        },
      };
    };

    if (!body.stream) {
      const result = await this.options.service.correct(input, { signal });
      if (result.finishReason === 'cancelled') return;
      const { usage, aligner } = summary(result);
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: result.text },
            logprobs: null,
            finish_reason: finishReason(result.finishReason),
          },
        ],
        usage,
        aligner,
      });
    }

    // Streaming: the upstream's whole answer is needed before the correction can start, so the
    // stream opens once it is in (its errors keep their status). The first chunk carries the
    // original answer; then the correction streams token by token; the last chunk has the summary.
    const sse = new SseWriter(
      res,
      { id, created, model },
      { aligner: { corrected: true, original: choice.text, ...base } },
    );
    let result: CorrectResult;
    try {
      result = await this.options.service.correct(input, {
        signal,
        onDelta: (delta) => sse.chunk({ content: delta }, null),
      });
    } catch (error) {
      if (!sse.started) throw error;
      sse.error(toHttpError(error, this.options.log, 'correcting proxy stream').body());
      return;
    }
    if (result.finishReason === 'cancelled') return sse.end();
    const { usage, aligner } = summary(result);
    sse.chunk({}, finishReason(result.finishReason), { aligner });
    if (body.stream_options?.include_usage) sse.usage(usage);
    sse.done();
  }

  /** Requests an Aligner must not rewrite go upstream as they are, streamed or not, marked. */
  private async passThrough(
    forwarded: Record<string, unknown>,
    body: ProxyBody,
    reason: PassThroughReason,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    if (!body.stream) {
      const upstream = await this.options.upstream.complete(forwarded, signal);
      const model = typeof upstream.json.model === 'string' ? upstream.json.model : String(forwarded.model);
      return sendJson(res, 200, {
        ...upstream.json,
        aligner: {
          corrected: false,
          reason,
          upstream_model: model,
          usage: { upstream: upstreamUsage(upstream.json), aligner: null },
          timings: { upstream_ms: roundMs(performance.now() - started), upstream_attempts: upstream.attempts },
        },
      });
    }
    // The upstream's own event stream, byte for byte; headers say it was not corrected.
    const stream = await this.options.upstream.stream(forwarded, signal);
    res.writeHead(200, {
      'content-type': stream.contentType,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-aligner-corrected': 'false',
      'x-aligner-reason': reason,
    });
    try {
      for await (const chunk of stream.body) {
        if (res.destroyed) break;
        res.write(chunk);
      }
    } catch (error) {
      if (!signal.aborted) this.options.log('warn', `upstream stream ended early: ${(error as Error).message}`);
    }
    res.end();
  }

  /** An uncorrected upstream answer, for a client that asked for a stream: one chunk, then [DONE]. */
  private replayAsStream(json: Record<string, unknown>, marker: object, res: ServerResponse): void {
    const choice = (json.choices as Array<Record<string, unknown>>)[0]!;
    const sse = new SseWriter(
      res,
      {
        id: typeof json.id === 'string' ? json.id : `chatcmpl-${randomBytes(12).toString('hex')}`,
        created: typeof json.created === 'number' ? json.created : Math.floor(Date.now() / 1000),
        model: typeof json.model === 'string' ? json.model : 'upstream',
      },
      { aligner: marker },
    );
    // The role went out with the opening chunk.
    const message = { ...((choice.message ?? {}) as Record<string, unknown>) };
    delete message.role;
    // Streamed tool calls carry their position (OpenAI's delta format).
    if (Array.isArray(message.tool_calls)) {
      message.tool_calls = message.tool_calls.map((call: object, index: number) => ({ index, ...call }));
    }
    sse.chunk(message, null);
    sse.chunk({}, typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop', { aligner: marker });
    sse.done();
  }
}
