import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPrompt, correctionStops, TEMPLATE_NAMES, templateTail } from '../../../server/engine/templates.js';

test('the three Aligner templates, exactly as the released models expect them', () => {
  assert.deepEqual([...TEMPLATE_NAMES].sort(), ['correction', 'revision', 'v1.0']);
  assert.equal(
    buildPrompt('correction', 'Q?', 'A.'),
    'BEGINNING OF CONVERSATION: USER: ##Question: Q?\n##Answer: A.\n##Correction: ASSISTANT:',
  );
  assert.equal(
    buildPrompt('v1.0', 'Q?', 'A.'),
    'BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: Q? | A. ASSISTANT:',
  );
  assert.equal(
    buildPrompt('revision', 'Q?', 'A.'),
    'BEGINNING OF CONVERSATION: USER: ##Question: Q? ##Answer: A. ##Revision:  ASSISTANT:',
  );
});

test('placeholders inside the user text stay literal', () => {
  assert.ok(buildPrompt('correction', 'what does {answer} mean?', 'x').includes('what does {answer} mean?'));
});

test('earlier dialogue comes before the question', () => {
  const prompt = buildPrompt('correction', 'And now?', 'Fine.', [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
  ]);
  assert.ok(prompt.includes('##Question: Human: Hi\n\nAssistant: Hello!\n\nHuman: And now?\n##Answer: Fine.'));
});

test("a correction stops where the model writes its template's tail, after the request's own stops", () => {
  assert.equal(templateTail('correction'), '\n##Correction: ASSISTANT:');
  assert.equal(templateTail('revision'), ' ##Revision:  ASSISTANT:');
  assert.equal(templateTail('v1.0'), ' ASSISTANT:');
  for (const name of TEMPLATE_NAMES) assert.ok(buildPrompt(name, 'Q?', 'A.').endsWith('A.' + templateTail(name)));
  assert.deepEqual(correctionStops('correction'), ['\n##Correction: ASSISTANT:']);
  assert.deepEqual(correctionStops('correction', ['END']), ['END', '\n##Correction: ASSISTANT:']);
  assert.deepEqual(correctionStops('correction', ['\n##Correction: ASSISTANT:']), ['\n##Correction: ASSISTANT:']);
});
