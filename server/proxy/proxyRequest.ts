// What the correcting proxy does with a chat request and with the upstream's answer: which ones it
// corrects, which pass through untouched (and why), and the Aligner input for the ones it corrects.
import { z } from 'zod';
import type { CorrectionInput } from '../engine/api.js';
import { HttpError } from '../transport/errors.js';
import { parseChatCompletionRequest, toCorrectionInput } from '../transport/openaiSchemas.js';

/** Why a request or an answer is passed through uncorrected (reported as aligner.reason). */
export type PassThroughReason =
  | 'tools'
  | 'images'
  | 'non_text_content'
  | 'multiple_choices'
  | 'structured_output'
  | 'tool_messages'
  | 'tool_calls'
  | 'no_text_answer';

/** Only what the proxy reads; everything else in the body is forwarded as it came. */
const ProxyBodySchema = z
  .object({
    model: z.string().max(200).nullish(),
    messages: z
      .array(z.object({ role: z.string(), content: z.unknown().optional() }).passthrough())
      .min(1)
      .max(400),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
    n: z.number().int().nullish(),
    tools: z.array(z.unknown()).nullish(),
    functions: z.array(z.unknown()).nullish(),
    response_format: z.object({ type: z.string() }).passthrough().nullish(),
    max_tokens: z.number().int().nullish(),
    max_completion_tokens: z.number().int().nullish(),
    /** Our extension: how the Aligner decodes the correction (the other fields go upstream). */
    aligner: z
      .object({
        model: z.string().min(1).max(200).optional(),
        template: z.string().optional(),
        max_tokens: z.number().int().optional(),
        temperature: z.number().optional(),
        top_p: z.number().optional(),
        top_k: z.number().int().optional(),
        seed: z.number().int().optional(),
        repetition_penalty: z.number().optional(),
        loop_guard: z.number().int().optional(),
      })
      .strict()
      .nullish(),
  })
  .passthrough();
export type ProxyBody = z.infer<typeof ProxyBodySchema>;

export function parseProxyBody(body: unknown): ProxyBody {
  const parsed = ProxyBodySchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new HttpError(
    400,
    'invalid_request_error',
    'invalid_request',
    `Invalid request body: ${issue.path.join('.') || '(body)'}: ${issue.message}`,
    issue.path.join('.') || null,
  );
}

/** The last message decides: a final assistant message is a draft to correct (not the proxy's job). */
export function endsWithAssistant(body: unknown): boolean {
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  return (messages.at(-1) as { role?: unknown } | null)?.role === 'assistant';
}

const TEXT_ROLES = new Set(['system', 'developer', 'user', 'assistant']);

/** Requests whose answer an Aligner must not rewrite, and why. */
export function requestPassThroughReason(body: ProxyBody): PassThroughReason | null {
  if ((body.tools?.length ?? 0) > 0 || (body.functions?.length ?? 0) > 0) return 'tools';
  if ((body.n ?? 1) > 1) return 'multiple_choices';
  // A rewritten answer would no longer match the schema the client asked for.
  if (body.response_format && body.response_format.type !== 'text') return 'structured_output';
  let nonText: PassThroughReason | null = null;
  for (const m of body.messages) {
    if (!TEXT_ROLES.has(m.role)) return 'tool_messages';
    if (Array.isArray(m.content)) {
      for (const part of m.content as Array<{ type?: unknown }>) {
        if (part?.type === 'image_url' || part?.type === 'image') return 'images';
        if (part?.type !== 'text') nonText = 'non_text_content';
      }
    } else if (typeof m.content !== 'string') {
      return 'tool_messages'; // e.g. an assistant turn that only carries tool_calls
    }
  }
  return nonText;
}

export interface UpstreamChoice {
  text: string | null;
  finishReason: string | null;
  reason: PassThroughReason | null;
}

/** The upstream's first choice, and whether it is an answer the Aligner can correct. */
export function readUpstreamChoice(json: Record<string, unknown>): UpstreamChoice {
  const choice = (json.choices as Array<Record<string, unknown>> | undefined)?.[0];
  if (!choice || typeof choice !== 'object') {
    throw new HttpError(502, 'server_error', 'upstream_bad_response', 'The upstream model answered without choices');
  }
  const message = (choice.message ?? {}) as Record<string, unknown>;
  const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : null;
  const hasToolCalls = (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) || !!message.function_call;
  const content = message.content;
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? (content as Array<{ text?: unknown }>).map((p) => (typeof p.text === 'string' ? p.text : '')).join('')
        : null;
  if (hasToolCalls || finishReason === 'tool_calls') return { text, finishReason, reason: 'tool_calls' };
  if (text === null) return { text, finishReason, reason: 'no_text_answer' };
  return { text, finishReason, reason: null };
}

/** The body as the upstream gets it: our extension removed, the upstream's model name in. */
export function forwardedBody(body: ProxyBody, upstreamModel: string): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...body, model: upstreamModel };
  delete rest.aligner;
  return rest;
}

/**
 * The Aligner's input: the question (last user turn), the earlier turns, and the upstream's answer
 * as the draft. Built through the draft mode's own parser, so both modes accept the same limits.
 */
export function correctionInputFor(
  body: ProxyBody,
  answer: string,
  requestId: string,
  alignerModel: string | undefined,
): CorrectionInput {
  const options = body.aligner ?? {};
  const maxTokens = options.max_tokens ?? body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const draft = parseChatCompletionRequest({
    model: alignerModel,
    messages: [
      ...body.messages.map((m) => ({ role: m.role, content: m.content })),
      { role: 'assistant', content: answer },
    ],
    max_tokens: maxTokens,
    temperature: options.temperature,
    top_p: options.top_p,
    top_k: options.top_k,
    seed: options.seed,
    repetition_penalty: options.repetition_penalty,
    loop_guard: options.loop_guard,
    template: options.template,
  });
  return toCorrectionInput(draft, requestId);
}
