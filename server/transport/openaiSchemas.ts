// The OpenAI chat-completions request body, validated with zod, and its mapping onto an Aligner
// correction: the last `user` message is the question, a final `assistant` message is the draft
// to correct, and the turns before the question are context.
import { z } from 'zod';
import {
  CorrectParamsSchema,
  GenerationOptionsSchema,
  TemplateNameSchema,
  type ChatTurn,
  type GenerationOptions,
} from '../protocol/index.js';
import type { CorrectionInput } from '../engine/api.js';
import { HttpError } from './errors.js';

// Bounds come from the protocol's own schema so HTTP and JSON-RPC accept the same ranges.
const gen = GenerationOptionsSchema.shape;

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
const ContentSchema = z.union([z.string(), z.array(TextPartSchema).max(1000)]);

const MessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: ContentSchema,
  name: z.string().max(200).optional(),
});

/** Unknown fields are ignored (OpenAI clients send many); `null` means "not set", as in OpenAI. */
/**
 * The sampling and streaming fields both OpenAI endpoints (chat and legacy completions) take, with
 * the vLLM-style extensions (top-level fields that OpenAI SDKs send via extra_body).
 */
export const OpenAiSamplingFields = {
  max_tokens: gen.maxNewTokens.unwrap().nullish(),
  temperature: gen.temperature.unwrap().nullish(),
  top_p: gen.topP.unwrap().nullish(),
  seed: gen.seed.unwrap().nullish(),
  stop: z.union([z.string().min(1).max(256), gen.stop.unwrap()]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1).nullish(),
  top_k: gen.topK.unwrap().nullish(),
  repetition_penalty: gen.repetitionPenalty.unwrap().nullish(),
  loop_guard: gen.loopGuard.unwrap().nullish(),
};

export const ChatCompletionRequestSchema = z.object({
  model: z.string().min(1).max(200).nullish(),
  messages: z.array(MessageSchema).min(1).max(400),
  max_completion_tokens: gen.maxNewTokens.unwrap().nullish(),
  ...OpenAiSamplingFields,
  template: TemplateNameSchema.nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

const textOf = (content: z.infer<typeof ContentSchema>): string =>
  typeof content === 'string' ? content : content.map((p) => p.text).join('');

const invalid = (message: string, param: string | null = 'messages') =>
  new HttpError(400, 'invalid_request_error', 'invalid_request', message, param);

export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  const parsed = ChatCompletionRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const summary = issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
  throw invalid(`Invalid request body: ${summary}`, issues[0]?.path.join('.') || null);
}

/** Builds the engine input; `requestId` tags the engine's request (also the completion id). */
export function toCorrectionInput(body: ChatCompletionRequest, requestId: string): CorrectionInput {
  // System/developer prompts have no slot in the Aligner templates; they are dropped.
  const turns = body.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
  const draft = turns.at(-1);
  const question = turns.at(-2);
  if (!draft || draft.role !== 'assistant') {
    throw invalid('The last message must be the assistant draft answer to correct');
  }
  if (!question || question.role !== 'user') {
    throw invalid('The assistant draft must directly follow the user question');
  }
  const context: ChatTurn[] = turns
    .slice(0, -2)
    .map((m) => ({ role: m.role as ChatTurn['role'], content: textOf(m.content) }));

  const generation = generationOptionsOf(body);
  const input: CorrectionInput = {
    requestId,
    ...(body.model ? { model: body.model } : {}),
    question: textOf(question.content),
    answer: textOf(draft.content),
    ...(context.length ? { context } : {}),
    ...(body.template ? { template: body.template } : {}),
    ...(Object.keys(generation).length ? { generation } : {}),
  };
  // Same limits as the JSON-RPC `correct` request (text lengths, context turns).
  const checked = CorrectParamsSchema.safeParse(input);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw invalid(`Invalid request: ${issue.path.join('.')}: ${issue.message}`);
  }
  return input;
}

/** A chat model's input: every message, system prompts included, through the model's chat template. */
export function toChatModelInput(body: ChatCompletionRequest, requestId: string, model: string): CorrectionInput {
  const generation = generationOptionsOf(body);
  const messages = body.messages.map((m) => ({ role: m.role, content: textOf(m.content) }));
  return {
    requestId,
    model,
    question: '',
    answer: '',
    prompt: { kind: 'chat', messages },
    ...(Object.keys(generation).length ? { generation } : {}),
  };
}

/** OpenAI's sampling fields (and the vLLM-style extensions) as engine generation options. */
export function generationOptionsOf(
  body: Partial<z.infer<z.ZodObject<typeof OpenAiSamplingFields>>> & { max_completion_tokens?: number | null },
): GenerationOptions {
  const generation: GenerationOptions = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) generation.maxNewTokens = maxTokens;
  if (body.temperature != null) generation.temperature = body.temperature;
  if (body.top_p != null) generation.topP = body.top_p;
  if (body.top_k != null) generation.topK = body.top_k;
  if (body.seed != null) generation.seed = body.seed;
  if (body.repetition_penalty != null) generation.repetitionPenalty = body.repetition_penalty;
  if (body.loop_guard != null) generation.loopGuard = body.loop_guard;
  if (body.stop != null) generation.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  return generation;
}
