// Chat templates are found where transformers writes them and rendered by @huggingface/jinja
// exactly as apply_chat_template(add_generation_prompt=True) renders them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatTemplate, ChatTemplateError, findChatTemplate } from '../../../server/engine/chatTemplate.js';

// SmolLM2-135M-Instruct's template, as transformers saves it (chat_template.jinja).
const SMOLLM2 =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

test('renders SmolLM2-Instruct prompts as transformers does, default system prompt and all', () => {
  const template = new ChatTemplate(SMOLLM2, { eos_token: '<|im_end|>' });
  assert.equal(
    template.render([{ role: 'user', content: 'Hi?' }]),
    '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' +
      '<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(
    template.render([
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: 'Hi?' },
    ]),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n',
    'developer messages are system messages to a template',
  );
});

test('special tokens from tokenizer_config.json (strings or AddedToken objects) reach the template', () => {
  const template = new ChatTemplate(
    '{{ bos_token }}{% for m in messages %}[{{ m.content }}]{{ eos_token }}{% endfor %}',
    {
      bos_token: { content: '<s>', lstrip: false },
      eos_token: '</s>',
    },
  );
  assert.equal(template.render([{ role: 'user', content: 'a' }]), '<s>[a]</s>');
});

test("a template's raise_exception and a broken template are clear errors", () => {
  const strict = new ChatTemplate(
    "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}ok",
    {},
  );
  assert.equal(strict.render([{ role: 'user', content: 'x' }]), 'ok');
  assert.throws(
    () => strict.render([{ role: 'assistant', content: 'x' }]),
    (e: Error) => {
      return e instanceof ChatTemplateError && /must start with user/.test(e.message);
    },
  );
  assert.throws(() => new ChatTemplate('{% for %}', {}), ChatTemplateError);
});

test('findChatTemplate: chat_template.jinja first, then tokenizer_config (string or named list)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-chat-template-'));
  assert.equal(findChatTemplate(dir, {}), undefined);
  assert.equal(findChatTemplate(dir, { chat_template: 'A' }), 'A');
  const named = [
    { name: 'tool_use', template: 'T' },
    { name: 'default', template: 'D' },
  ];
  assert.equal(findChatTemplate(dir, { chat_template: named }), 'D');
  writeFileSync(join(dir, 'chat_template.jinja'), 'J');
  assert.equal(findChatTemplate(dir, { chat_template: 'A' }), 'J');
});
