// Tests for the random-weight test-model generator: folder layout, HF config fields, the ONNX
// interface (Optimum names and shapes), KV-cache and padding semantics, the tokenizer, determinism,
// and agreement with an independent HF-style reference forward pass.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../../server/util/rng.js';
import {
  TEST_MODEL_PRESETS,
  countParameters,
  resolveDims,
  writeTestModel,
  type TestModelSummary,
  type TestModelType,
} from '../../../server/testmodel/writeTestModel.js';
import { readInitializers, referenceLogits } from './hfReference.js';
import type { Cfg as ReferenceCfg } from './hfReference.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-testmodel-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Cfg extends ReferenceCfg {
  bos_token_id: number | null;
  eos_token_id: number;
  pad_token_id: number;
  [k: string]: unknown;
}

interface Loaded {
  summary: TestModelSummary;
  cfg: Cfg;
  session: ort.InferenceSession;
  tokenizer: Tokenizer;
}

const readJson = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));

async function load(
  type: TestModelType,
  extra: { seed?: number; externalData?: boolean; sub?: string } = {},
): Promise<Loaded> {
  const outDir = join(root, extra.sub ?? type);
  const summary = await writeTestModel({ type, outDir, seed: extra.seed, externalData: extra.externalData });
  const session = await ort.InferenceSession.create(join(outDir, 'onnx', 'model.onnx'));
  const tokenizer = new Tokenizer(readJson(outDir, 'tokenizer.json'), readJson(outDir, 'tokenizer_config.json'));
  return { summary, cfg: readJson(outDir, 'config.json'), session, tokenizer };
}

type Past = Record<string, ort.Tensor>;

/** One forward pass over a batch of equal-length rows. */
async function forward(m: Loaded, ids: number[][], mask: number[][], pos: number[][], past?: Past) {
  const B = ids.length;
  const S = ids[0].length;
  const T = mask[0].length;
  const i64 = (rows: number[][], cols: number) =>
    new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [B, cols]);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(ids, S),
    attention_mask: i64(mask, T),
    position_ids: i64(pos, S),
  };
  const { num_hidden_layers: L, num_key_value_heads: kv, head_dim: D } = m.cfg;
  for (let i = 0; i < L; i++) {
    for (const kind of ['key', 'value']) {
      const name = `past_key_values.${i}.${kind}`;
      feeds[name] = past?.[name] ?? new ort.Tensor('float32', new Float32Array(0), [B, kv, 0, D]);
    }
  }
  const out = await m.session.run(feeds);
  const nextPast: Past = {};
  for (let i = 0; i < L; i++) {
    for (const kind of ['key', 'value']) nextPast[`past_key_values.${i}.${kind}`] = out[`present.${i}.${kind}`];
  }
  const V = m.cfg.vocab_size;
  const logits = out.logits.data as Float32Array;
  /** Logits of row b at step s. */
  const at = (b: number, s: number) => logits.subarray((b * S + s) * V, (b * S + s + 1) * V);
  return { out, at, past: nextPast };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const argmax = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const TYPES: TestModelType[] = ['llama', 'gemma', 'qwen2'];
const TEXT = 'USER: What is the capital of France? ASSISTANT: The capital of France is Paris, of course.';

for (const type of TYPES) {
  describe(`test model: ${type}`, () => {
    let m: Loaded;
    before(async () => {
      m = await load(type);
    });

    it('writes every file of the HF + Optimum layout', () => {
      for (const f of [
        'config.json',
        'generation_config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'special_tokens_map.json',
        'aligner.json',
        'onnx/model.onnx',
      ]) {
        assert.ok(existsSync(join(m.summary.dir, f)), `${f} missing`);
      }
      assert.ok(!existsSync(join(m.summary.dir, 'onnx/model.onnx_data')), 'tiny model must be inline');
      const aligner = readJson(m.summary.dir, 'aligner.json');
      assert.deepEqual(aligner, { template: 'correction', generation: { maxNewTokens: 128 }, testModel: true });
      const gen = readJson(m.summary.dir, 'generation_config.json');
      assert.equal(gen.eos_token_id, m.cfg.eos_token_id);
      assert.equal(gen.pad_token_id, m.cfg.pad_token_id);
    });

    it('has the HF config fields of its model_type', () => {
      const c = m.cfg;
      const arch = { llama: 'LlamaForCausalLM', gemma: 'GemmaForCausalLM', qwen2: 'Qwen2ForCausalLM' }[type];
      assert.deepEqual(c.architectures, [arch]);
      assert.equal(c.model_type, type);
      assert.equal(c.torch_dtype, 'float32');
      assert.equal(c.hidden_act, type === 'gemma' ? 'gelu_pytorch_tanh' : 'silu');
      if (type === 'gemma') {
        assert.equal(c.hidden_activation, 'gelu_pytorch_tanh');
        assert.equal(c.tie_word_embeddings, true);
        assert.notEqual(
          c.head_dim,
          c.hidden_size / c.num_attention_heads,
          'gemma head_dim should differ from hidden/heads',
        );
      } else assert.equal(c.head_dim, c.hidden_size / c.num_attention_heads);
      if (type === 'llama') assert.equal(c.attention_bias, false);
      assert.ok(c.num_key_value_heads < c.num_attention_heads, 'tiny models exercise GQA');
      for (const k of [
        'hidden_size',
        'intermediate_size',
        'num_hidden_layers',
        'num_attention_heads',
        'num_key_value_heads',
        'vocab_size',
        'max_position_embeddings',
        'rms_norm_eps',
        'rope_theta',
      ]) {
        assert.equal(typeof c[k], 'number', k);
      }
      assert.equal(typeof c.eos_token_id, 'number');
      assert.equal(typeof c.pad_token_id, 'number');
      assert.equal(m.summary.parameters * 4, m.summary.weightBytes);
      assert.ok(
        m.summary.parameters > 500_000 && m.summary.parameters < 3_000_000,
        `tiny size: ${m.summary.parameters}`,
      );
    });

    it('has exactly the Optimum input and output names and shapes', () => {
      const L = m.cfg.num_hidden_layers;
      const pastNames = range(0, L).flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]);
      const presentNames = range(0, L).flatMap((i) => [`present.${i}.key`, `present.${i}.value`]);
      assert.deepEqual(m.session.inputNames, ['input_ids', 'attention_mask', 'position_ids', ...pastNames]);
      assert.deepEqual(m.session.outputNames, ['logits', ...presentNames]);
    });

    it('matches an independent HF-style reference forward pass', async () => {
      const ids = m.tokenizer.encode(TEXT).ids.slice(0, 16);
      const { at } = await forward(m, [ids], [ids.map(() => 1)], [range(0, ids.length)]);
      const ref = referenceLogits(m.cfg, readInitializers(join(m.summary.dir, 'onnx/model.onnx')), ids);
      for (const s of [0, 7, ids.length - 1])
        assert.ok(maxAbsDiff(at(0, s), ref[s]) < 5e-4, `position ${s}: ${maxAbsDiff(at(0, s), ref[s])}`);
    });

    it('gives the same logits for a full pass and for incremental decoding with the KV cache', async () => {
      const ids = m.tokenizer.encode(TEXT).ids.slice(0, 20);
      assert.equal(ids.length, 20);
      const full = await forward(m, [ids], [ids.map(() => 1)], [range(0, 20)]);
      assert.deepEqual(full.out.logits.dims, [1, 20, m.cfg.vocab_size]);
      assert.deepEqual(full.out['present.0.key'].dims, [1, m.cfg.num_key_value_heads, 20, m.cfg.head_dim]);

      let step = await forward(m, [ids.slice(0, 12)], [Array(12).fill(1)], [range(0, 12)]);
      assert.ok(maxAbsDiff(step.at(0, 11), full.at(0, 11)) < 1e-4);
      for (let p = 12; p < 20; p++) {
        step = await forward(m, [[ids[p]]], [Array(p + 1).fill(1)], [[p]], step.past);
        assert.deepEqual(step.out['present.1.value'].dims, [1, m.cfg.num_key_value_heads, p + 1, m.cfg.head_dim]);
        const d = maxAbsDiff(step.at(0, 0), full.at(0, p));
        assert.ok(d < 1e-4, `step ${p}: ${d}`);
      }
    });

    it('masks left padding in batches, in prefill and in the past during decoding', async () => {
      const all = m.tokenizer.encode(TEXT).ids;
      const a = all.slice(0, 14);
      const b = all.slice(3, 12); // 9 tokens, left-padded by 5
      const pad = a.length - b.length;
      const maskB = [...Array(pad).fill(0), ...Array(b.length).fill(1)];
      // HF: position_ids = cumsum(mask) - 1, with 1 at padding
      const posB = [...Array(pad).fill(1), ...range(0, b.length)];
      let batch = await forward(
        m,
        [a, [...Array(pad).fill(m.cfg.pad_token_id), ...b]],
        [a.map(() => 1), maskB],
        [range(0, a.length), posB],
      );
      let soloA = await forward(m, [a], [a.map(() => 1)], [range(0, a.length)]);
      let soloB = await forward(m, [b], [b.map(() => 1)], [range(0, b.length)]);
      for (let s = 0; s < b.length; s++)
        assert.ok(maxAbsDiff(batch.at(1, pad + s), soloB.at(0, s)) < 1e-4, `padded row, token ${s}`);
      for (let s = 0; s < a.length; s++)
        assert.ok(maxAbsDiff(batch.at(0, s), soloA.at(0, s)) < 1e-4, `full row, token ${s}`);
      for (const row of [0, 1])
        for (const v of batch.out.logits.data as Float32Array)
          assert.ok(Number.isFinite(v), `row ${row} has non-finite logits`);

      // Greedy decoding, batched vs alone: padding now sits inside the past.
      let nextA = argmax(soloA.at(0, a.length - 1));
      let nextB = argmax(soloB.at(0, b.length - 1));
      const maskRows = [a.map(() => 1), maskB];
      for (let t = 0; t < 4; t++) {
        maskRows[0].push(1);
        maskRows[1].push(1);
        batch = await forward(m, [[nextA], [nextB]], maskRows, [[a.length + t], [b.length + t]], batch.past);
        soloA = await forward(m, [[nextA]], [Array(a.length + t + 1).fill(1)], [[a.length + t]], soloA.past);
        soloB = await forward(m, [[nextB]], [Array(b.length + t + 1).fill(1)], [[b.length + t]], soloB.past);
        assert.ok(maxAbsDiff(batch.at(0, 0), soloA.at(0, 0)) < 1e-4, `decode step ${t}, row 0`);
        assert.ok(maxAbsDiff(batch.at(1, 0), soloB.at(0, 0)) < 1e-4, `decode step ${t}, row 1`);
        nextA = argmax(soloA.at(0, 0));
        nextB = argmax(soloB.at(0, 0));
        assert.equal(argmax(batch.at(0, 0)), nextA);
        assert.equal(argmax(batch.at(1, 0)), nextB);
      }
    });

    it('ships a tokenizer that round-trips any text and matches the config', () => {
      const tok = m.tokenizer;
      const samples = [
        'Hello, world!',
        'Café, naïve, résumé -- déjà vu; Zürich & São Paulo.',
        '中文字符和日本語のテキスト、한국어도',
        'emoji 😀👍🏽🎉❤️ and a flag 🇫🇷',
        'line one\nline two\r\n\n   indented\ttab  trailing  ',
        '##Question: 2+2? ##Answer: 5 ##Correction: 4',
        ' leading space and "quotes" \'single\' <b>tags</b> {json: [1, 2.5e-3]}',
      ];
      for (const s of samples) {
        const plain = tok.encode(s, { add_special_tokens: false }).ids;
        assert.equal(tok.decode(plain), s, `round trip: ${s}`);
        const withSpecial = tok.encode(s).ids;
        assert.equal(tok.decode(withSpecial, { skip_special_tokens: true }), s);
        if (type === 'qwen2') assert.deepEqual(withSpecial, plain, 'qwen2 adds no BOS');
        else assert.deepEqual(withSpecial, [m.cfg.bos_token_id, ...plain], 'BOS is prepended');
      }
      const vocab = tok.get_vocab(true);
      assert.equal(vocab.size, m.cfg.vocab_size);
      assert.equal(Math.max(...vocab.values()), m.cfg.vocab_size - 1);
      const tcfg = readJson(m.summary.dir, 'tokenizer_config.json');
      assert.equal(tok.token_to_id(tcfg.eos_token), m.cfg.eos_token_id);
      assert.equal(tok.token_to_id(tcfg.pad_token), m.cfg.pad_token_id);
      assert.equal(tcfg.add_bos_token, type !== 'qwen2');
      assert.equal(tcfg.clean_up_tokenization_spaces, false);
      const expected = { llama: ['<s>', '</s>'], gemma: ['<bos>', '<eos>'], qwen2: [null, '<|endoftext|>'] }[type];
      assert.deepEqual([tcfg.bos_token, tcfg.eos_token], expected);
      if (type !== 'qwen2') assert.equal(tok.token_to_id(tcfg.bos_token), m.cfg.bos_token_id);
      // The prompt markers are short token sequences, as with a real BPE trained on such text.
      assert.ok(tok.encode('##Correction:', { add_special_tokens: false }).ids.length <= 4);
    });

    it('has logits of the tokenizer vocabulary size', async () => {
      const { out } = await forward(m, [[5, 6, 7]], [[1, 1, 1]], [[0, 1, 2]]);
      assert.equal(out.logits.dims[2], m.tokenizer.get_vocab(true).size);
    });
  });
}

describe('test model generator', () => {
  it('is deterministic: the same seed gives a byte-identical model.onnx', async () => {
    const x = await writeTestModel({ type: 'qwen2', outDir: join(root, 'det-a'), seed: 7 });
    const y = await writeTestModel({ type: 'qwen2', outDir: join(root, 'det-b'), seed: 7 });
    const z = await writeTestModel({ type: 'qwen2', outDir: join(root, 'det-c'), seed: 8 });
    const bytes = (s: TestModelSummary, f: string) => readFileSync(join(s.dir, f));
    assert.ok(bytes(x, 'onnx/model.onnx').equals(bytes(y, 'onnx/model.onnx')));
    assert.ok(bytes(x, 'tokenizer.json').equals(bytes(y, 'tokenizer.json')));
    assert.ok(!bytes(x, 'onnx/model.onnx').equals(bytes(z, 'onnx/model.onnx')));
  });

  it('spreads logits so greedy decoding has clear winners', async () => {
    const m = await load('llama', { sub: 'spread' });
    const rng = new Rng(99);
    const V = m.cfg.vocab_size;
    let clear = 0;
    let stdSum = 0;
    for (let p = 0; p < 20; p++) {
      const ids = Array.from({ length: 8 + rng.int(16) }, () => 4 + rng.int(V - 4));
      const { at } = await forward(m, [ids], [ids.map(() => 1)], [range(0, ids.length)]);
      const last = Array.from(at(0, ids.length - 1)).sort((u, v) => v - u);
      if (last[0] - last[1] > 1e-3) clear++;
      const mean = last.reduce((s, v) => s + v, 0) / V;
      stdSum += Math.sqrt(last.reduce((s, v) => s + (v - mean) ** 2, 0) / V) / 20;
    }
    assert.ok(clear >= 18, `only ${clear}/20 prompts have a top-1/top-2 gap > 1e-3`);
    assert.ok(stdSum > 2 && stdSum < 5, `mean logit std ${stdSum}`);
  });

  it('writes external data on request, with the same outputs as the inline model', async () => {
    const inline = await load('gemma', { sub: 'ext-inline', seed: 3 });
    const ext = await load('gemma', { sub: 'ext-external', seed: 3, externalData: true });
    const dataFile = join(ext.summary.dir, 'onnx/model.onnx_data');
    assert.ok(existsSync(dataFile), 'model.onnx_data missing');
    // tensors under 1 KB (norm weights) stay inline, as with onnx's convert_model_to_external_data
    assert.ok(statSync(dataFile).size > 0.95 * ext.summary.weightBytes, `data file: ${statSync(dataFile).size} bytes`);
    assert.ok(
      statSync(join(ext.summary.dir, 'onnx/model.onnx')).size < 100_000,
      'graph file should hold no large weights',
    );
    const ids = [10, 20, 30, 40, 50];
    const r1 = await forward(inline, [ids], [ids.map(() => 1)], [range(0, 5)]);
    const r2 = await forward(ext, [ids], [ids.map(() => 1)], [range(0, 5)]);
    assert.deepEqual(r1.out.logits.data, r2.out.logits.data);
  });

  it('resolves presets to the advertised sizes', () => {
    const size = (preset: keyof typeof TEST_MODEL_PRESETS) =>
      countParameters(resolveDims({ type: 'llama', ...TEST_MODEL_PRESETS[preset] }));
    const tiny = size('tiny');
    assert.ok(tiny >= 1e6 && tiny <= 3e6, `tiny: ${tiny}`);
    assert.ok(Math.abs(size('17m') - 17e6) < 1.5e6, `17m: ${size('17m')}`);
    assert.ok(Math.abs(size('100m') - 100e6) < 8e6, `100m: ${size('100m')}`);
    assert.ok(Math.abs(size('500m') - 500e6) < 40e6, `500m: ${size('500m')}`);
    const g = resolveDims({ type: 'gemma' });
    assert.equal(g.kvHeads, 1);
    assert.notEqual(g.headDim, g.hiddenSize / g.heads);
    assert.throws(() => resolveDims({ type: 'llama', heads: 4, kvHeads: 3 }), /multiple/);
  });

  it('writes a tiny model quickly', async () => {
    const t0 = performance.now();
    await writeTestModel({ type: 'llama', outDir: join(root, 'speed'), seed: 11 });
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `tiny write took ${ms.toFixed(0)} ms`);
  });
});
