import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IncrementalDecoder, StopStringFilter } from '../../../server/engine/textStream.js';
import { TextTokenizer } from '../../../server/engine/tokenizer.js';
import { testModel } from '../../helpers/testModels.js';

async function tokenizer(): Promise<TextTokenizer> {
  const dir = await testModel('qwen2');
  const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
  return new TextTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
}

test('deltas never split a UTF-8 character and add up to the decoded text', async () => {
  const tok = await tokenizer();
  const text = 'Café au lait, 中文字符 and emoji 😀👍🏽 — done.\nNext line.';
  const ids = tok.encode(text);
  const decoder = new IncrementalDecoder((x) => tok.decode(x));
  const deltas = ids.map((id) => decoder.push(id));
  for (const d of deltas) assert.ok(!d.includes('\uFFFD'), `delta ${JSON.stringify(d)} holds a replacement character`);
  assert.equal(deltas.join(''), text);
  assert.ok(deltas.filter((d) => d === '').length > 0, 'multi-byte characters were held back at least once');
});

test('a stop string ends the text and is never emitted, even in part', () => {
  const filter = new StopStringFilter(['##END']);
  const out: string[] = [];
  let stopped = false;
  for (const piece of ['Hello #', '#E', 'N', 'D tail']) {
    const r = filter.push(piece);
    out.push(r.delta);
    if (r.stopped) {
      stopped = true;
      break;
    }
  }
  assert.ok(stopped);
  assert.equal(out.join(''), 'Hello ');
  assert.equal(filter.fullText, 'Hello ');
});

test('a partial stop-string match that does not complete is emitted at the end', () => {
  const filter = new StopStringFilter(['STOP']);
  assert.equal(filter.push('abc ST').delta, 'abc ');
  assert.equal(filter.push('O').delta, '');
  assert.equal(filter.flush(), 'STO');
  assert.equal(filter.fullText, 'abc STO');
});
