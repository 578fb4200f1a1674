// A chat model's own prompt format: the Jinja chat template Hugging Face ships with the tokenizer,
// rendered by @huggingface/jinja (the implementation transformers.js uses), never by hand.
import { Template } from '@huggingface/jinja';
import { readModelFile } from './modelFolder.js';

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

/** tokenizer_config.json keys whose token text a template may use (transformers' SPECIAL_TOKENS_ATTRIBUTES). */
const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

export class ChatTemplateError extends Error {}

/** An AddedToken is serialized either as its text or as {content, …}. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/**
 * Finds a folder's chat template where transformers writes it: `chat_template.jinja` (transformers
 * 4.43+ saves it beside the tokenizer) or `chat_template` in tokenizer_config.json (a string, or a
 * list of named templates of which "default" is used). Undefined when the folder has none.
 */
export function findChatTemplate(dir: string, tokenizerConfig: object): string | undefined {
  // read like every model file: regular files only, inside the folder, size-capped (a FIFO must not hang us)
  const file = readModelFile(dir, 'chat_template.jinja');
  if (file !== undefined) return file.toString('utf8');
  const value = (tokenizerConfig as { chat_template?: unknown }).chat_template;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as Array<{ name?: unknown; template?: unknown }>;
    const chosen = named.find((t) => t.name === 'default') ?? named[0];
    if (typeof chosen?.template === 'string') return chosen.template;
  }
  return undefined;
}

export class ChatTemplate {
  private readonly template: Template;
  private readonly specialTokens: Record<string, string> = {};

  /** Parses once at load time, so a broken template fails the load rather than every request. */
  constructor(source: string, tokenizerConfig: object) {
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new ChatTemplateError(`the chat template does not parse: ${(err as Error).message}`);
    }
    for (const key of SPECIAL_TOKEN_KEYS) {
      const text = tokenText((tokenizerConfig as Record<string, unknown>)[key]);
      if (text !== undefined) this.specialTokens[key] = text;
    }
  }

  /** The prompt text for `messages`, ending with the assistant header (add_generation_prompt), as apply_chat_template renders it. */
  render(messages: ChatMessage[]): string {
    try {
      return this.template.render({
        messages: messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: m.content })),
        add_generation_prompt: true,
        ...this.specialTokens,
      });
    } catch (err) {
      // e.g. the template's own raise_exception("Conversation roles must alternate…")
      throw new ChatTemplateError(`the chat template refused these messages: ${(err as Error).message}`);
    }
  }
}
