// Tests for the in-process byte-level BPE trainer and the tokenizer.json it writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  BYTE_ORDER,
  BYTE_TO_UNICODE,
  CORPUS_WEIGHT,
  buildTokenizerFiles,
  byteLevelWords,
  supplementWords,
  trainedMerges,
} from '../../../server/testmodel/bpeTokenizer.js';
import { CORPUS } from '../../../server/testmodel/corpus.js';

/** Textbook BPE: recount every pair after each merge; same data, weights and tie-break. */
function bruteForceMerges(n: number): string[] {
  const counts = new Map<string, number>();
  for (const w of byteLevelWords(CORPUS)) counts.set(w, (counts.get(w) ?? 0) + CORPUS_WEIGHT);
  for (const w of supplementWords().flatMap(byteLevelWords)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const symbols = BYTE_ORDER.map((b) => BYTE_TO_UNICODE[b]);
  const id = new Map(symbols.map((s, i) => [s, i]));
  let words = [...counts].map(([w, c]) => ({ s: Array.from(w, (ch) => id.get(ch)!), c }));
  const merges: string[] = [];
  for (let k = 0; k < n; k++) {
    const pairs = new Map<number, number>();
    for (const { s, c } of words)
      for (let i = 0; i + 1 < s.length; i++)
        pairs.set(s[i] * 32768 + s[i + 1], (pairs.get(s[i] * 32768 + s[i + 1]) ?? 0) + c);
    let best = -1;
    let bestCount = 0;
    for (const [key, c] of pairs) if (c > bestCount || (c === bestCount && key < best)) [best, bestCount] = [key, c];
    const a = Math.floor(best / 32768);
    const b = best % 32768;
    const m = symbols.length;
    symbols.push(symbols[a] + symbols[b]);
    merges.push(`${symbols[a]} ${symbols[b]}`);
    words = words.map(({ s, c }) => {
      const o: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          o.push(m);
          i++;
        } else o.push(s[i]);
      }
      return { s: o, c };
    });
  }
  return merges;
}

describe('byte-level BPE trainer', () => {
  it('matches textbook BPE training merge for merge', () => {
    const fast = trainedMerges(150).merges.map(([a, b]) => `${a} ${b}`);
    assert.deepEqual(fast, bruteForceMerges(150));
  });

  it('trains an 8192 vocabulary of real merges quickly, and smaller vocabularies are prefixes', () => {
    const t0 = performance.now();
    const big = trainedMerges(8192 - 256 - 4);
    assert.ok(performance.now() - t0 < 1500, 'training too slow');
    assert.equal(big.merges.length, 8192 - 256 - 4);
    const small = trainedMerges(1000);
    assert.deepEqual(small.merges, big.merges.slice(0, 1000));
    const f = buildTokenizerFiles('gemma', 8192, 2048);
    assert.equal(f.fillerTokens, 0);
  });

  it('pads with placeholder tokens only when the training data runs out', () => {
    const f = buildTokenizerFiles('qwen2', 24000, 2048);
    assert.ok(f.fillerTokens > 0);
    const tok = new Tokenizer(JSON.parse(f.tokenizerJson), f.tokenizerConfig);
    assert.equal(tok.get_vocab(true).size, 24000);
    // Qwen2 layout: specials after the BPE vocabulary, the last one at vocab_size - 1
    assert.equal(tok.token_to_id('<|im_end|>'), 23999);
    assert.equal(f.eosTokenId, 23997);
    const s = 'still round-trips: é 中文 😀';
    assert.equal(tok.decode(tok.encode(s).ids), s);
  });

  it('writes merges in the classic "a b" form over the byte-level alphabet', () => {
    const f = buildTokenizerFiles('llama', 1024, 2048);
    const json = JSON.parse(f.tokenizerJson);
    assert.equal(json.model.type, 'BPE');
    assert.equal(json.model.merges.length, 1024 - 256 - 4);
    for (const m of json.model.merges) {
      assert.equal(typeof m, 'string');
      const [a, b, ...rest] = m.split(' ');
      assert.equal(rest.length, 0);
      assert.ok(a + b in json.model.vocab, `merge result ${a + b} not in vocab`);
    }
    assert.ok(json.model.vocab['Ġ'] !== undefined && json.model.vocab['Ċ'] !== undefined);
    const ids = Object.values(json.model.vocab as Record<string, number>).sort((x, y) => x - y);
    assert.deepEqual(
      ids,
      Array.from({ length: 1024 }, (_, i) => i),
    );
    assert.deepEqual(json.pre_tokenizer, {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    assert.equal(json.decoder.type, 'ByteLevel');
    assert.equal(json.post_processor.type, 'TemplateProcessing');
    assert.equal(buildTokenizerFiles('qwen2', 1024, 2048).tokenizerJson.includes('"TemplateProcessing"'), false);
  });
});
