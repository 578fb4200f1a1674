// `aligner convert --from MODEL_DIR --to hf` (server/convert/onnxToHf.ts): a tiny llama converted to the
// fast layout and read back. fp32 gives the weights back, fp16 their fp16 rounding, int8 / int4 every
// weight within half a quantization step, and converting the read-back folder again with the same dtype
// and block size gives the same initializers byte for byte; anything else is refused with one line.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { onnx as P } from 'onnx-proto';
import { convertModel, type ConvertDtype } from '../../../server/convert/convertModel.js';
import { floatArrayToHalf, halfArrayToFloat } from '../../../server/convert/halfFloat.js';
import { onnxToHf } from '../../../server/convert/onnxToHf.js';
import { SafetensorsFile } from '../../../server/convert/safetensors.js';
import { onnx } from '../../../server/onnx/onnxGraph.js';
import { writeTestModel } from '../../../server/testmodel/writeTestModel.js';
import { runConvertCli } from '../../helpers/convertCli.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-onnx2hf-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = (name: string) => join(root, name);
const onnxPath = (d: string) => join(d, 'onnx', 'model.onnx');

/** Every initializer's bytes by name (inline or external data). */
function initializerBytes(modelDir: string): Map<string, Uint8Array> {
  const model = onnx.ModelProto.decode(readFileSync(onnxPath(modelDir)));
  const out = new Map<string, Uint8Array>();
  for (const t of model.graph!.initializer!) {
    const ext = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
    if (ext.size) {
      const data = readFileSync(join(modelDir, 'onnx', ext.get('location')!));
      const at = Number(ext.get('offset') ?? 0);
      out.set(t.name!, data.subarray(at, at + Number(ext.get('length'))));
    } else out.set(t.name!, new Uint8Array(t.rawData!));
  }
  return out;
}

type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** All tensors of a folder's model.safetensors. */
function weights(hfDir: string): Weights {
  const f = SafetensorsFile.open(join(hfDir, 'model.safetensors'));
  try {
    return new Map(f.names().map((n) => [n, { shape: f.info(n)!.shape, data: f.read(n) }]));
  } finally {
    f.close();
  }
}

const cli = runConvertCli;

/** The largest |a - b| over two tensors. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Asserts every value of an [N, K] weight lies within half a quantization step of the original: the step
 * of its block is the block's largest |original| / (2^(bits-1) - 1) (for q's rows, which the converter
 * quantizes pre-scaled, the same step measured back in HF units).
 */
function assertWithinHalfStep(
  name: string,
  orig: Float32Array,
  back: Float32Array,
  K: number,
  bits: number,
  bs: number,
) {
  const N = orig.length / K;
  for (let n = 0; n < N; n++)
    for (let k0 = 0; k0 < K; k0 += bs) {
      const k1 = Math.min(k0 + bs, K);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(orig[n * K + k]));
      const half = ((amax / ((1 << (bits - 1)) - 1)) * (1 + 1e-5)) / 2;
      for (let k = k0; k < k1; k++) {
        const err = Math.abs(back[n * K + k] - orig[n * K + k]);
        if (err > half) assert.fail(`${name}[${n}, ${k}]: off by ${err}, half a step is ${half}`);
      }
    }
}

/**
 * A llama test model and its weights, untied (lm_head its own int8 linear) or tied like the shipped
 * default (the checkpoint's lm_head copy is dropped from the weights: the table is the output layer).
 */
async function llama(name: string, tied: boolean, heads?: { heads: number; kvHeads: number }) {
  const src = dir(name);
  await writeTestModel({ type: 'llama', outDir: src, seed: 5, ...heads });
  const configPath = join(src, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  writeFileSync(configPath, JSON.stringify({ ...config, tie_word_embeddings: tied }));
  const w = weights(src);
  if (tied) w.delete('lm_head.weight');
  return { src, w, headDim: config.head_dim as number };
}
type Model = Awaited<ReturnType<typeof llama>>;

/** Converts a model to the fast layout, reads it back, converts the read-back folder again. */
async function roundTrip(m: Model, tag: string, dtype: ConvertDtype, blockSize?: number, external = false) {
  const fast = dir(`${tag}-fast`);
  const hf = dir(`${tag}-hf`);
  const again = dir(`${tag}-again`);
  const opts = external ? { externalDataThresholdBytes: 1000 } : {};
  await convertModel({ from: m.src, out: fast, dtype, blockSize, ...opts });
  const summary = await onnxToHf({ from: fast, out: hf });
  await convertModel({ from: hf, out: again, dtype, blockSize, ...opts });
  const back = weights(hf);
  assert.deepEqual([...back.keys()].sort(), [...m.w.keys()].sort());
  for (const [name, t] of m.w) assert.deepEqual(back.get(name)!.shape, t.shape, name);
  return { fast, hf, again, summary, back };
}

/** The converter's fp16 encoding read back: q's rows are rounded pre-scaled, then the scale divided out. */
function fp16RoundTrip(name: string, w: Float32Array, headDim: number): Float32Array {
  if (!name.includes('.q_proj.')) return halfArrayToFloat(floatArrayToHalf(w));
  const c = 1 / Math.sqrt(headDim);
  return halfArrayToFloat(floatArrayToHalf(w.map((v) => v * c))).map((v) => v / c);
}

describe('onnxToHf: a fast-layout llama back to a Hugging Face folder', () => {
  // head_dim 32 (the tiny default): 1/sqrt(head_dim) is no power of two, so q's rows round when the
  // folded scale is divided out; head_dim 64 (the shipped default's): they come back exactly.
  let hd32: Model;
  let untied64: Model;
  let tied64: Model;

  before(async () => {
    hd32 = await llama('hd32', false);
    untied64 = await llama('untied64', false, { heads: 2, kvHeads: 1 });
    tied64 = await llama('tied64', true, { heads: 2, kvHeads: 1 });
    assert.deepEqual([hd32.headDim, untied64.headDim, tied64.headDim], [32, 64, 64]);
    assert.ok(hd32.w.has('lm_head.weight') && !tied64.w.has('lm_head.weight'));
  });

  it('fp32: every weight comes back (q rows within float rounding), config and tokenizer as they were', async () => {
    for (const [m, tag] of [
      [hd32, 'fp32-hd32'],
      [tied64, 'fp32-tied64'],
    ] as const) {
      const r = await roundTrip(m, tag, 'fp32');
      assert.equal(r.summary.dtype, 'fp32');
      assert.equal(r.summary.blockSize, undefined);
      assert.equal(
        r.summary.parameters,
        [...m.w.values()].reduce((a, t) => a + t.data.length, 0),
      );
      for (const [name, t] of m.w) {
        const err = maxDiff(r.back.get(name)!.data, t.data);
        // only q's rows pass through the folded scale (exactly when it is a power of two)
        if (name.includes('.q_proj.') && m.headDim === 32) assert.ok(err <= 2e-7, `${tag} ${name}: ${err}`);
        else assert.equal(err, 0, `${tag} ${name}`);
      }
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
        assert.deepEqual(readFileSync(join(r.hf, f)), readFileSync(join(m.src, f)), f);
      assert.ok(!existsSync(join(r.hf, 'onnx')) && !existsSync(join(r.hf, 'aligner.json')));
      // and the same graph again
      const first = initializerBytes(r.fast);
      const second = initializerBytes(r.again);
      for (const [name, bytes] of first)
        if (!(m.headDim === 32 && name.includes('qkv_proj')))
          assert.ok(Buffer.from(bytes).equals(second.get(name)!), `${tag} ${name}`);
    }
  });

  it('fp16: the fp16 rounding of every weight, norms in fp32', async () => {
    const r = await roundTrip(hd32, 'fp16', 'fp16');
    assert.equal(r.summary.dtype, 'fp16');
    for (const [name, t] of hd32.w) {
      const expected = t.shape.length === 1 ? t.data : fp16RoundTrip(name, t.data, hd32.headDim);
      assert.equal(maxDiff(r.back.get(name)!.data, expected), 0, name);
    }
  });

  for (const [dtype, blockSize, bits] of [
    ['int8', 64, 8],
    ['int4', 32, 4],
  ] as const) {
    for (const [kind, external] of [
      ['untied64', false],
      ['tied64', true],
    ] as const) {
      it(`${dtype} block ${blockSize}, ${kind}${external ? ', external data' : ''}: within half a step, and converting again gives the same bytes`, async () => {
        const m = kind === 'untied64' ? untied64 : tied64;
        const r = await roundTrip(m, `${dtype}-${kind}`, dtype, blockSize, external);
        assert.equal(r.summary.dtype, dtype);
        assert.equal(r.summary.blockSize, blockSize);
        assert.equal(r.summary.externalData, external);
        assert.equal(existsSync(join(r.fast, 'onnx', 'model.onnx_data')), external);
        for (const [name, t] of m.w) {
          const back = r.back.get(name)!.data;
          if (t.shape.length === 1)
            assert.equal(maxDiff(back, t.data), 0, name); // norms stay fp32
          else {
            // the embedding table and lm_head are int8 whatever the matrices are
            const tableBits = name.includes('embed_tokens') || name.startsWith('lm_head') ? 8 : bits;
            assertWithinHalfStep(name, t.data, back, t.shape[1], tableBits, blockSize);
          }
        }
        const first = initializerBytes(r.fast);
        const second = initializerBytes(r.again);
        assert.deepEqual([...second.keys()].sort(), [...first.keys()].sort());
        let quantized = 0;
        for (const [name, bytes] of first) {
          if (name.endsWith('.qweight') || name.endsWith('.scales')) quantized++;
          assert.ok(Buffer.from(bytes).equals(second.get(name)!), `${name} differs after converting again`);
        }
        // 2 layers x 4 linears (+ lm_head untied) + the table, each qweight and scales
        assert.equal(quantized, 2 * (8 + 1 + (kind === 'untied64' ? 1 : 0)));
      });
    }
  }

  it('int4, head_dim 32: q rows within half a step; converting again moves some of their scales by one ulp, nothing else', async () => {
    const r = await roundTrip(hd32, 'int4-hd32', 'int4', 32);
    for (const [name, t] of hd32.w)
      if (t.shape.length === 2) {
        const tableBits = name.includes('embed_tokens') || name.startsWith('lm_head') ? 8 : 4;
        assertWithinHalfStep(name, t.data, r.back.get(name)!.data, t.shape[1], tableBits, 32);
      }
    const first = initializerBytes(r.fast);
    const second = initializerBytes(r.again);
    let moved = 0;
    for (const [name, bytes] of first) {
      if (Buffer.from(bytes).equals(second.get(name)!)) continue;
      assert.match(name, /qkv_proj\.scales$/, `${name} differs after converting again`);
      const a = new Float32Array(new Uint8Array(bytes).buffer);
      const b = new Float32Array(new Uint8Array(second.get(name)!).buffer);
      for (let i = 0; i < a.length; i++)
        if (a[i] !== b[i]) {
          moved++;
          assert.ok(Math.abs(a[i] - b[i]) <= a[i] * 2 ** -23, `${name}[${i}]: ${a[i]} -> ${b[i]}`);
        }
    }
    assert.ok(moved < 100, `${moved} scales moved`);
  });

  it('int8 with the table in fp16 (hidden not whole blocks): the tied int8 lm_head copy is no stray weight', async () => {
    // hidden 128 in blocks of 256: every block padded; the table stays fp16 and lm_head is an int8 copy
    // of the fp32 table, which the read-back cannot keep (the folder holds the fp16 table)
    const r = await roundTrip(tied64, 'int8-256', 'int8', 256);
    const first = initializerBytes(r.fast);
    assert.ok(first.has('model.embed_tokens.weight.fp16') && first.has('lm_head.qweight'));
    const embed = tied64.w.get('model.embed_tokens.weight')!.data;
    const back = r.back.get('model.embed_tokens.weight')!.data;
    assert.equal(maxDiff(back, halfArrayToFloat(floatArrayToHalf(embed))), 0);
    for (const [name, t] of tied64.w)
      if (t.shape.length === 2 && !name.includes('embed_tokens'))
        assertWithinHalfStep(name, t.data, r.back.get(name)!.data, t.shape[1], 8, 256);
    const second = initializerBytes(r.again);
    for (const [name, bytes] of first)
      if (!name.startsWith('lm_head.')) assert.ok(Buffer.from(bytes).equals(second.get(name)!), name);
  });

  it('the CLI: --to hf with a model folder prints one line', async () => {
    const fast = dir('int8-untied64-fast'); // from the int8 test above
    assert.ok(existsSync(onnxPath(fast)));
    const printed = await cli(['--from', fast, '--to', 'hf', '--out', dir('cli-hf')]);
    assert.match(
      printed,
      /^wrote llama Hugging Face folder to .*cli-hf: [\d.]+M parameters, [\d.]+ MiB of fp32 safetensors \(from fast int8, block 64\), [\d.]+ s\n$/,
    );
    assert.deepEqual(
      readFileSync(join(dir('cli-hf'), 'model.safetensors')),
      readFileSync(join(dir('int8-untied64-hf'), 'model.safetensors')),
    );
  });

  it('refuses what is not a fast-layout llama folder, with one clear line', async () => {
    const fast = dir('int8-untied64-fast');
    const out = dir('refused');
    // a Hugging Face checkpoint without onnx/
    const hfOnly = dir('hf-only');
    mkdirSync(hfOnly, { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'model.safetensors'])
      copyFileSync(join(hd32.src, f), join(hfOnly, f));
    await assert.rejects(
      onnxToHf({ from: hfOnly, out }),
      /hf-only: no onnx\/model\.onnx; --to hf reads a GGUF file or a model folder/,
    );
    // the test model's own graph is the Optimum layout
    await assert.rejects(
      onnxToHf({ from: hd32.src, out }),
      /hd32\/onnx\/model\.onnx: not the converter's fast layout \(no past_bias input; an Optimum-layout export\)/,
    );
    // gemma and qwen2 fold norms / biases into the graph
    const gemma = dir('gemma');
    await writeTestModel({ type: 'gemma', outDir: gemma, seed: 1 });
    await convertModel({ from: gemma, out: dir('gemma-fast'), dtype: 'int8' });
    await assert.rejects(
      onnxToHf({ from: dir('gemma-fast'), out }),
      /gemma-fast\/config\.json: model_type "gemma" is not read back .*only llama without biases/,
    );
    // a fast graph missing a weight, or carrying one a llama without biases does not have
    const edited = (name: string, edit: (inits: P.ITensorProto[]) => void) => {
      const to = dir(name);
      mkdirSync(join(to, 'onnx'), { recursive: true });
      for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join(fast, f), join(to, f));
      const model = onnx.ModelProto.decode(readFileSync(onnxPath(fast)));
      edit(model.graph!.initializer!);
      writeFileSync(onnxPath(to), onnx.ModelProto.encode(model).finish());
      return to;
    };
    const missing = edited('missing', (inits) =>
      inits.splice(
        inits.findIndex((t) => t.name === 'model.layers.1.gate_up_proj.qweight'),
        1,
      ),
    );
    await assert.rejects(
      onnxToHf({ from: missing, out }),
      /model\.onnx: no weight for model\.layers\.1\.gate_up_proj \(/,
    );
    const bias = edited('bias', (inits) =>
      inits.push({ name: 'model.layers.0.qkv_proj.bias', dims: [4], dataType: 1, rawData: new Uint8Array(16) }),
    );
    await assert.rejects(
      onnxToHf({ from: bias, out }),
      /model\.onnx: weights a llama without biases does not have: model\.layers\.0\.qkv_proj\.bias/,
    );
    assert.ok(!existsSync(join(out, 'model.safetensors')), 'a refused conversion leaves no safetensors');
    // the CLI: neither a file nor a folder, and no dtype but fp32
    await assert.rejects(
      cli(['--from', dir('nowhere'), '--to', 'hf', '--out', out]),
      /--to hf converts a GGUF file or a model folder `aligner convert` wrote \(fast layout\); .*nowhere is neither/,
    );
    await assert.rejects(cli(['--from', fast, '--to', 'hf', '--dtype', 'int8', '--out', out]), /fp32 safetensors only/);
  });
});
