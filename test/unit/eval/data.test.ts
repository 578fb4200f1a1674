// Input rows: kind detection, HH-RLHF context parsing, ids, groups, --limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectKind, rowId, toEvalRow } from '../../../server/eval/data/rowKind.js';
import { parseContext, parseHhContext } from '../../../server/eval/data/hhContext.js';
import { readInputs, sourceLabels } from '../../../server/eval/data/readInputs.js';
import { tempDir } from './fakes.js';

test('row kinds come from the fields present', () => {
  assert.equal(detectKind({ answer: 'a', correction: 'c' }), 'qac');
  assert.equal(detectKind({ answer: 'a' }), 'upstream');
  assert.equal(detectKind({}), 'prompt');
  assert.equal(detectKind({ correct_answers: ['x'], incorrect_answers: ['y'] }), 'truthfulqa');
  assert.equal(detectKind({ answer: 'a', correct_answers: ['x'], incorrect_answers: ['y'] }), 'truthfulqa');
});

test('HH-RLHF context becomes user/assistant turns', () => {
  const ctx =
    '\n\nHuman: what are pranks with a pen?\n\nAssistant: Are you looking for jokes?\n\nHuman: yep\n\nAssistant: Ok:\n\n1. one\n\n2. two';
  assert.deepEqual(parseHhContext(ctx), [
    { role: 'user', content: 'what are pranks with a pen?' },
    { role: 'assistant', content: 'Are you looking for jokes?' },
    { role: 'user', content: 'yep' },
    // blank lines inside a turn stay in it
    { role: 'assistant', content: 'Ok:\n\n1. one\n\n2. two' },
  ]);
});

test('a trailing human turn equal to the question is dropped; leading plain text is a user turn', () => {
  assert.deepEqual(parseHhContext('\n\nHuman: hi\n\nAssistant: hello\n\nHuman: and now?', 'and now?'), [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'hello' },
  ]);
  assert.deepEqual(parseHhContext('Some background.\n\nAssistant: noted'), [
    { role: 'user', content: 'Some background.' },
    { role: 'assistant', content: 'noted' },
  ]);
  assert.equal(parseContext('', 'q'), undefined);
  assert.deepEqual(parseContext([{ role: 'assistant', content: 'x' }], 'q'), [{ role: 'assistant', content: 'x' }]);
});

test('rows: ids are stable, groups come from upstream field, endpoint model or file name', () => {
  const src = { source: 'hh.jsonl', fileStem: 'hh' };
  const a = toEvalRow({ question: 'q', answer: 'a', correction: 'c' }, 3, src);
  const b = toEvalRow({ question: 'q', answer: 'other', correction: 'c' }, 3, src);
  assert.ok(!('invalid' in a) && !('invalid' in b));
  assert.equal(a.id, b.id, 'the id depends on file, line and question only');
  assert.equal(a.id, rowId('hh.jsonl', 3, 'q'));
  assert.notEqual(a.id, rowId('hh.jsonl', 4, 'q'));
  assert.equal(a.upstream, 'hh');
  assert.equal(a.reference, 'c');
  const up = toEvalRow({ question: 'q', answer: 'a', upstream: 'gpt4' }, 1, src);
  assert.ok(!('invalid' in up) && up.upstream === 'gpt4' && up.kind === 'upstream');
  const prompt = toEvalRow({ question: 'q', topic: 't' }, 1, { ...src, upstreamModel: 'llama' });
  assert.ok(!('invalid' in prompt) && prompt.upstream === 'llama' && prompt.kind === 'prompt');
  const tqa = toEvalRow(
    { question: 'q', best_answer: 'best', correct_answers: ['ok'], incorrect_answers: ['bad'] },
    1,
    src,
  );
  assert.ok(!('invalid' in tqa));
  assert.deepEqual(tqa.truthful, { correct: ['best', 'ok'], incorrect: ['bad'] });
  assert.ok('invalid' in toEvalRow({ answer: 'no question' }, 1, src));
  assert.ok('invalid' in toEvalRow({ question: 5 }, 1, src));
});

test('readInputs: per-file kinds, invalid lines, --limit per file, unique source labels', async () => {
  const dir = tempDir('aligner-eval-data-');
  const f1 = join(dir, 'qac.jsonl');
  writeFileSync(
    f1,
    [
      JSON.stringify({ question: 'q1', answer: 'a1', correction: 'c1' }),
      '',
      'not json',
      JSON.stringify({ question: 'q2', answer: 'a2' }),
      JSON.stringify({ question: 'q3' }),
    ].join('\n'),
  );
  const { rows, inputs } = await readInputs([f1]);
  assert.deepEqual(
    rows.map((r) => [r.line, r.kind]),
    [
      [1, 'qac'],
      [4, 'upstream'],
      [5, 'prompt'],
    ],
  );
  assert.deepEqual(inputs[0]!.kinds, { qac: 1, upstream: 1, prompt: 1 });
  assert.equal(inputs[0]!.invalidCount, 1);
  assert.equal(inputs[0]!.invalid[0]!.line, 3);
  const limited = await readInputs([f1], { limit: 2 });
  assert.equal(limited.rows.length, 2);
  assert.deepEqual(sourceLabels(['a/x.jsonl', 'b/y.jsonl']), ['x.jsonl', 'y.jsonl']);
  assert.deepEqual(sourceLabels(['a/x.jsonl', 'b/x.jsonl']), ['a/x.jsonl', 'b/x.jsonl']);
});
