// OpenAI-compatible HTTP routes: GET /health, GET /v1/models, POST /v1/chat/completions (JSON or
// SSE). Requests reach here only after the Host/Origin/token guards in server.ts.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP_ROUTES, type CorrectResult, type FinishReason } from '../protocol/index.js';
import type { AlignerService } from '../engine/api.js';
import { HttpError, toHttpError } from './errors.js';
import type { HttpDeps } from './httpDeps.js';
import { cancelOnClientClose, readJsonBody, sendHttpError, sendJson, writeSse } from './httpUtil.js';
import { parseChatCompletionRequest, toChatModelInput, toCorrectionInput } from './openaiSchemas.js';
import { completions } from './openaiCompletions.js';
import { endsWithAssistant } from '../proxy/proxyRequest.js';

export type { HttpDeps };

const ROUTES: Record<
  string,
  { method: string; handle: (req: IncomingMessage, res: ServerResponse, deps: HttpDeps) => unknown }
> = {
  [HTTP_ROUTES.health]: { method: 'GET', handle: health },
  [HTTP_ROUTES.models]: { method: 'GET', handle: models },
  [HTTP_ROUTES.chatCompletions]: { method: 'POST', handle: chatCompletions },
  [HTTP_ROUTES.completions]: { method: 'POST', handle: completions },
};

export async function handleHttp(req: IncomingMessage, res: ServerResponse, deps: HttpDeps): Promise<void> {
  try {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!route) throw new HttpError(404, 'invalid_request_error', 'not_found', 'Not found');
    if (req.method !== route.method) {
      throw new HttpError(405, 'invalid_request_error', 'method_not_allowed', `Use ${route.method}`, null, {
        allow: route.method,
      });
    }
    await route.handle(req, res, deps);
  } catch (error) {
    sendHttpError(res, toHttpError(error, deps.log, `HTTP ${req.method} ${req.url?.slice(0, 100)}`));
  }
}

function health(_req: IncomingMessage, res: ServerResponse, deps: HttpDeps): void {
  const h = deps.health?.() ?? deps.service.health();
  // As llama-server does: 503 until the model is ready to serve, so pollers can simply wait.
  sendJson(res, h.status === 'loading' ? 503 : 200, h);
}

function models(_req: IncomingMessage, res: ServerResponse, deps: HttpDeps): void {
  const local = deps.service.listModels().models;
  const data = local.map((m) => ({
    id: m.id,
    object: 'model' as const,
    created: deps.startedAt,
    owned_by: 'aligner',
    role: (m.role ?? 'aligner') as string,
  }));
  const upstream = deps.proxy?.upstreamModel;
  if (upstream && !local.some((m) => m.id === upstream)) {
    data.push({ id: upstream, object: 'model', created: deps.startedAt, owned_by: 'upstream', role: 'upstream' });
  }
  sendJson(res, 200, { object: 'list', data });
}

/** The chat model (role "chat") a request is for: the one it names, or the default if that is one. */
function chatModelFor(raw: unknown, deps: HttpDeps): string | undefined {
  const named = (raw as { model?: unknown } | null)?.model;
  const list = deps.service.listModels();
  const id = typeof named === 'string' && named ? named : list.defaultModel;
  return list.models.find((m) => m.id === id && m.role === 'chat')?.id;
}

const finishReason = (r: FinishReason): 'stop' | 'length' => (r === 'length' ? 'length' : 'stop');

const usageOf = (r: CorrectResult) => ({
  prompt_tokens: r.usage.promptTokens,
  completion_tokens: r.usage.completionTokens,
  total_tokens: r.usage.promptTokens + r.usage.completionTokens,
});

async function chatCompletions(req: IncomingMessage, res: ServerResponse, deps: HttpDeps): Promise<void> {
  const raw = await readJsonBody(req, deps.maxPayloadBytes);
  const model = chatModelFor(raw, deps);
  if (!model && deps.proxy && !endsWithAssistant(raw)) return deps.proxy.handle(raw, res, deps.track);
  const body = parseChatCompletionRequest(raw);
  const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
  const input = model ? toChatModelInput(body, id, model) : toCorrectionInput(body, id);
  const created = Math.floor(Date.now() / 1000);
  const modelRequested = Boolean(body.model);

  const client = cancelOnClientClose(res, deps.track);
  try {
    if (!body.stream) {
      const result = await deps.service.correct(input, { signal: client.signal });
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: result.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: result.text },
            logprobs: null,
            finish_reason: finishReason(result.finishReason),
          },
        ],
        usage: usageOf(result),
      });
      return;
    }
    await streamCompletion(res, deps, input, client.signal, {
      id,
      created,
      model: body.model ?? deps.service.listModels().defaultModel ?? 'aligner',
      includeUsage: Boolean(body.stream_options?.include_usage),
      modelRequested,
    });
  } catch (error) {
    throw toHttpError(error, deps.log, 'chat completion', modelRequested);
  } finally {
    client.release();
  }
}

interface StreamMeta {
  id: string;
  created: number;
  model: string;
  includeUsage: boolean;
  modelRequested: boolean;
}

/**
 * Server-sent events in OpenAI's chunk format. Headers go out with the first chunk, so errors
 * raised before any text (overload, context overflow, unknown model) still get a real status.
 */
async function streamCompletion(
  res: ServerResponse,
  deps: HttpDeps,
  input: Parameters<AlignerService['correct']>[0],
  signal: AbortSignal,
  meta: StreamMeta,
): Promise<void> {
  let model = meta.model;
  const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  const send = (data: unknown) => {
    if (!res.headersSent) writeSse(res, chunk({ role: 'assistant', content: '' }, null));
    writeSse(res, data);
  };

  let result: CorrectResult;
  try {
    result = await deps.service.correct(input, {
      signal,
      onDelta: (delta) => send(chunk({ content: delta }, null)),
    });
  } catch (error) {
    if (!res.headersSent) throw error;
    // Mid-stream failure: headers are gone, so report it in-band the way OpenAI does.
    send(toHttpError(error, deps.log, 'chat completion stream', meta.modelRequested).body());
    res.end();
    return;
  }
  model = result.model;
  send(chunk({}, finishReason(result.finishReason)));
  if (meta.includeUsage) send({ ...chunk({}, null), choices: [], usage: usageOf(result) });
  send('[DONE]');
  res.end();
}
