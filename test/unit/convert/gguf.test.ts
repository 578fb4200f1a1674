// GGUF import: every dequantizer against a reference written from ggml-quants.c's dequantize_row_*
// (and, where the trainer's venv has gguf-py, against gguf-py itself), the reader on every metadata
// type, and small end-to-end runs: a test model written as GGUF by a miniature convert_hf_to_gguf ->
// `aligner convert --to hf` (tensors, q/k permutation undone, config, tokenizer) -> the engine's layout.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { convertModel } from '../../../server/convert/convertModel.js';
import { convertGguf } from '../../../server/convert/gguf/convertGguf.js';
import { dequantize, ggmlType } from '../../../server/convert/gguf/dequant.js';
import { GgufFile } from '../../../server/convert/gguf/ggufFile.js';
import { ggufToHf } from '../../../server/convert/gguf/ggufToHf.js';
import { Metadata } from '../../../server/convert/gguf/metadata.js';
import { ggufTokenizer } from '../../../server/convert/gguf/tokenizer.js';
import { halfToFloat } from '../../../server/convert/halfFloat.js';
import { readModelConfig } from '../../../server/convert/modelConfig.js';
import { SafetensorsFile } from '../../../server/convert/safetensors.js';
import { EngineHost } from '../../../server/engine/host.js';
import { TextTokenizer } from '../../../server/engine/tokenizer.js';
import { Rng } from '../../../server/util/rng.js';
import { writeTestModel, type TestModelType } from '../../../server/testmodel/writeTestModel.js';
import { m, quantize, QUANT_TYPES, writeGguf, type MetaValue, type QuantName } from '../../helpers/ggufWriter.js';
import { ggufTensorName, hfToGguf, permuteRows } from '../../helpers/hfToGguf.js';
import { FastRunner, dimsOf } from './runners.js';
import { runConvertCli } from '../../helpers/convertCli.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-gguf-'));
const python = join(import.meta.dirname, '..', '..', '..', '.venv', 'bin', 'python');
/** Whether the trainer's venv can import a module (the cross-checks against gguf-py and transformers). */
const canImport = (module: string) =>
  existsSync(python) && spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8' }).status === 0;
let transformersChecked: boolean | undefined;
const hasTransformers = () => (transformersChecked ??= canImport('transformers'));
after(() => rmSync(root, { recursive: true, force: true }));
const readJson = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

// ---- reference dequantization, transcribed loop by loop from ggml-quants.c (float32 at every step)

const f = Math.fround;
const fp16 = (b: Uint8Array, at: number) => halfToFloat(b[at] | (b[at + 1] << 8));
const i8 = (v: number) => (v << 24) >> 24;
/** bfloat16 is the top half of a float32. */
const bf16 = (bits: number) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0];

function refDequant(type: QuantName, x: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  const dv = new DataView(x.buffer, x.byteOffset, x.byteLength);
  switch (type) {
    case 'F32':
      for (let i = 0; i < n; i++) y[i] = dv.getFloat32(4 * i, true);
      return y;
    case 'F16':
      for (let i = 0; i < n; i++) y[i] = fp16(x, 2 * i);
      return y;
    case 'BF16':
      for (let i = 0; i < n; i++) y[i] = bf16(dv.getUint16(2 * i, true));
      return y;
  }
  const qk = QUANT_TYPES[type].block;
  const bytes = ggmlType(QUANT_TYPES[type].id)!.typeSize;
  for (let i = 0; i < n / qk; i++) {
    const b = i * bytes;
    const o = i * qk;
    if (type === 'Q4_0' || type === 'Q4_1') {
      // dequantize_row_q4_0 / q4_1: x0 = (qs[j] & 0x0F) [- 8], x1 = (qs[j] >> 4) [- 8]
      const d = fp16(x, b);
      const min = type === 'Q4_1' ? fp16(x, b + 2) : 0;
      const qs = b + (type === 'Q4_1' ? 4 : 2);
      for (let j = 0; j < qk / 2; j++) {
        const x0 = x[qs + j] & 0x0f;
        const x1 = x[qs + j] >> 4;
        y[o + j] = type === 'Q4_1' ? f(f(x0 * d) + min) : f((x0 - 8) * d);
        y[o + j + qk / 2] = type === 'Q4_1' ? f(f(x1 * d) + min) : f((x1 - 8) * d);
      }
    } else if (type === 'Q5_0' || type === 'Q5_1') {
      // dequantize_row_q5_0 / q5_1: the fifth bit of x0 is qh bit j, of x1 bit j + 12 shifted into 0x10
      const d = fp16(x, b);
      const min = type === 'Q5_1' ? fp16(x, b + 2) : 0;
      const qhAt = b + (type === 'Q5_1' ? 4 : 2);
      const qh = dv.getUint32(qhAt, true);
      for (let j = 0; j < qk / 2; j++) {
        const xh0 = ((qh >>> j) << 4) & 0x10;
        const xh1 = (qh >>> (j + 12)) & 0x10;
        const x0 = (x[qhAt + 4 + j] & 0x0f) | xh0;
        const x1 = (x[qhAt + 4 + j] >> 4) | xh1;
        y[o + j] = type === 'Q5_1' ? f(f(x0 * d) + min) : f((x0 - 16) * d);
        y[o + j + qk / 2] = type === 'Q5_1' ? f(f(x1 * d) + min) : f((x1 - 16) * d);
      }
    } else if (type === 'Q8_0') {
      const d = fp16(x, b);
      for (let j = 0; j < qk; j++) y[o + j] = f(i8(x[b + 2 + j]) * d);
    } else if (type === 'Q4_K' || type === 'Q5_K') {
      // dequantize_row_q4_K / q5_K with get_scale_min_k4
      const d = fp16(x, b);
      const min = fp16(x, b + 2);
      const scales = b + 4;
      const getScaleMin = (j: number): [number, number] =>
        j < 4
          ? [x[scales + j] & 63, x[scales + j + 4] & 63]
          : [
              (x[scales + j + 4] & 0xf) | ((x[scales + j - 4] >> 6) << 4),
              (x[scales + j + 4] >> 4) | ((x[scales + j] >> 6) << 4),
            ];
      const five = type === 'Q5_K';
      const qh = b + 16;
      let ql = b + (five ? 48 : 16);
      let is = 0;
      let u1 = 1;
      let u2 = 2;
      for (let j = 0; j < 256; j += 64) {
        const [sc1, m1] = getScaleMin(is + 0);
        const [sc2, m2] = getScaleMin(is + 1);
        const [d1, mm1, d2, mm2] = [f(d * sc1), f(min * m1), f(d * sc2), f(min * m2)];
        for (let l = 0; l < 32; l++) {
          const q = (x[ql + l] & 0xf) + (five && x[qh + l] & u1 ? 16 : 0);
          y[o + j + l] = f(f(d1 * q) - mm1);
        }
        for (let l = 0; l < 32; l++) {
          const q = (x[ql + l] >> 4) + (five && x[qh + l] & u2 ? 16 : 0);
          y[o + j + 32 + l] = f(f(d2 * q) - mm2);
        }
        ql += 32;
        is += 2;
        u1 <<= 2;
        u2 <<= 2;
      }
    } else if (type === 'Q6_K') {
      const d = fp16(x, b + 208);
      let ql = b;
      let qh = b + 128;
      let sc = b + 192;
      for (let n0 = 0; n0 < 256; n0 += 128) {
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const q1 = i8((x[ql + l] & 0xf) | (((x[qh + l] >> 0) & 3) << 4)) - 32;
          const q2 = i8((x[ql + l + 32] & 0xf) | (((x[qh + l] >> 2) & 3) << 4)) - 32;
          const q3 = i8((x[ql + l] >> 4) | (((x[qh + l] >> 4) & 3) << 4)) - 32;
          const q4 = i8((x[ql + l + 32] >> 4) | (((x[qh + l] >> 6) & 3) << 4)) - 32;
          y[o + n0 + l] = f(f(d * i8(x[sc + is])) * q1);
          y[o + n0 + l + 32] = f(f(d * i8(x[sc + is + 2])) * q2);
          y[o + n0 + l + 64] = f(f(d * i8(x[sc + is + 4])) * q3);
          y[o + n0 + l + 96] = f(f(d * i8(x[sc + is + 6])) * q4);
        }
        ql += 64;
        qh += 32;
        sc += 8;
      }
    }
  }
  return y;
}

/** Index of the first value whose bits differ, or -1. */
function firstBitDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/** 1,024 values: normal ones, a block of zeros, a constant block, a block of one sign, outliers. */
function testValues(seed: number): Float32Array {
  const x = new Rng(seed).fillNormal(new Float32Array(1024), 0.05);
  x.fill(0, 256, 288);
  x.fill(0.125, 288, 320);
  for (let i = 320; i < 352; i++) x[i] = Math.abs(x[i]) + 0.01;
  x[700] = 0.9;
  x[900] = -1.3;
  return x;
}

/** A loose bound on one format's rounding error for values of this range. */
const TOLERANCE: Record<QuantName, number> = {
  F32: 0,
  F16: 1e-3,
  BF16: 1e-2,
  Q8_0: 0.02,
  Q4_0: 0.2,
  Q4_1: 0.2,
  Q5_0: 0.1,
  Q5_1: 0.1,
  Q4_K: 0.25,
  Q5_K: 0.12,
  Q6_K: 0.06,
};
const TYPES = Object.keys(QUANT_TYPES) as QuantName[];

describe('GGUF dequantizers', () => {
  for (const type of TYPES) {
    it(`${type}: bit-identical to ggml's reference loop, and close to the values quantized`, () => {
      const x = testValues(TYPES.indexOf(type) + 1);
      const bytes = quantize(type, x);
      const t = ggmlType(QUANT_TYPES[type].id)!;
      assert.equal(bytes.byteLength, (x.length / t.blockSize) * t.typeSize, 'block size');
      const ours = dequantize(t, bytes, x.length);
      const ref = refDequant(type, bytes, x.length);
      const at = firstBitDiff(ours, ref);
      assert.equal(at, -1, `value ${at}: ours ${ours[at]}, reference ${ref[at]}`);
      let worst = 0;
      x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ours[i]))));
      assert.ok(worst <= TOLERANCE[type], `max |x - dequant(quant(x))| = ${worst}`);
      if (type === 'F32') assert.deepEqual(ours, x);
    });
  }

  it('refuses types it cannot dequantize and partial blocks', () => {
    assert.throws(() => dequantize(ggmlType(16)!, new Uint8Array(66), 256), /IQ2_XXS cannot be dequantized/);
    assert.throws(() => dequantize(ggmlType(8)!, new Uint8Array(34), 16), /not whole Q8_0 blocks/);
    assert.throws(() => dequantize(ggmlType(8)!, new Uint8Array(33), 32), /fewer than 32 values/);
  });

  const python = join(process.cwd(), '.venv', 'bin', 'python');
  const hasGgufPy = existsSync(python) && spawnSync(python, ['-c', 'import gguf'], { encoding: 'utf8' }).status === 0;
  it('agrees bit for bit with gguf-py, which transformers uses', { skip: !hasGgufPy && 'no .venv with gguf' }, () => {
    const path = join(root, 'all-types.gguf');
    const values = TYPES.map((_, i) => testValues(100 + i));
    writeGguf(path, {
      metadata: [['general.architecture', m.str('llama')]],
      tensors: TYPES.map((type, i) => ({
        name: type,
        dims: [512, 2],
        typeId: QUANT_TYPES[type].id,
        data: quantize(type, values[i]),
      })),
    });
    const outDir = join(root, 'gguf-py');
    const py = spawnSync(
      python,
      [
        '-c',
        `import sys, os, numpy as np
from gguf import GGUFReader, dequantize
r = GGUFReader(sys.argv[1]); os.makedirs(sys.argv[2], exist_ok=True)
for t in r.tensors:
    np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32).tofile(os.path.join(sys.argv[2], t.name))`,
        path,
        outDir,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(py.status, 0, py.stderr);
    const gguf = GgufFile.open(path);
    for (const t of gguf.tensors) {
      const theirs = new Float32Array(new Uint8Array(readFileSync(join(outDir, t.name))).buffer);
      const ours = gguf.read(t);
      const at = firstBitDiff(ours, theirs);
      assert.equal(at, -1, `${t.name} value ${at}: ours ${ours[at]}, gguf-py ${theirs[at]}`);
    }
    gguf.close();
  });
});

describe('GGUF reader', () => {
  it('reads every metadata type, nested arrays, v2 files and a custom alignment', () => {
    const path = join(root, 'meta.gguf');
    const metadata: Parameters<typeof writeGguf>[1]['metadata'] = [
      ['u8', { type: 'u8', value: 200 }],
      ['i8', { type: 'i8', value: -100 }],
      ['u16', { type: 'u16', value: 60000 }],
      ['i16', { type: 'i16', value: -30000 }],
      ['u32', m.u32(4000000000)],
      ['i32', m.i32(-2000000000)],
      ['f32', m.f32(0.1)],
      ['f64', m.f64(0.1)],
      ['bool', m.bool(true)],
      ['u64', m.u64(2n ** 40n)],
      ['u64.big', m.u64(2n ** 63n)],
      ['i64', { type: 'i64', value: -5n }],
      ['str', m.str('héllo 🌍')],
      ['arr.i32', m.arr('i32', [1, -2, 3])],
      ['arr.f32', m.arr('f32', [0.5, 1.5])],
      ['arr.bool', m.arr('bool', [true, false])],
      ['arr.str', m.arr('string', ['a', '', 'ü'])],
      ['arr.nested', m.arr('array', [m.arr('u8', [1, 2]), m.arr('string', ['x'])])],
      ['general.alignment', m.u32(64)],
    ];
    for (const version of [2, 3]) {
      const w = writeGguf(path, {
        version,
        alignment: 64,
        metadata,
        tensors: [
          { name: 'a', dims: [32, 3], typeId: 8, data: quantize('Q8_0', testValues(1).subarray(0, 96)) },
          { name: 'b', dims: [5], typeId: 0, data: quantize('F32', new Float32Array([1, 2, 3, 4, 5])) },
        ],
      });
      const g = GgufFile.open(path);
      const md = g.metadata;
      assert.equal(g.header.version, version);
      assert.equal(md.get('u8'), 200);
      assert.equal(md.get('i8'), -100);
      assert.equal(md.get('u16'), 60000);
      assert.equal(md.get('i16'), -30000);
      assert.equal(md.get('u32'), 4000000000);
      assert.equal(md.get('i32'), -2000000000);
      assert.equal(md.get('f32'), Math.fround(0.1));
      assert.equal(md.get('f64'), 0.1);
      assert.equal(md.get('bool'), true);
      assert.equal(md.get('u64'), 2 ** 40);
      assert.equal(md.get('u64.big'), 2n ** 63n, 'unsafe integers stay bigint');
      assert.equal(md.get('i64'), -5);
      assert.equal(md.get('str'), 'héllo 🌍');
      assert.deepEqual(Array.from(md.get('arr.i32') as Int32Array), [1, -2, 3]);
      assert.deepEqual(Array.from(md.get('arr.f32') as Float32Array), [0.5, 1.5]);
      assert.deepEqual(Array.from(md.get('arr.bool') as Uint8Array), [1, 0]);
      assert.deepEqual(md.get('arr.str'), ['a', '', 'ü']);
      const nested = md.get('arr.nested') as unknown[];
      assert.deepEqual(Array.from(nested[0] as Uint8Array), [1, 2]);
      assert.deepEqual(nested[1], ['x']);
      assert.equal(g.header.alignment, 64);
      assert.equal(g.header.dataStart, w.dataStart);
      assert.equal(g.header.dataStart % 64, 0);
      assert.deepEqual(
        g.tensors.map((t) => [t.name, t.dims, t.type.name, t.offset - w.dataStart, t.byteSize]),
        [
          ['a', [32, 3], 'Q8_0', 0, 102],
          ['b', [5], 'F32', 128, 20],
        ],
      );
      assert.deepEqual(Array.from(g.read(g.tensor('b')!)), [1, 2, 3, 4, 5]);
      g.close();
    }
  });

  it('refuses what is not GGUF with one line naming the file', () => {
    const path = join(root, 'not.gguf');
    writeFileSync(path, 'PK\x03\x04 this is a zip');
    assert.throws(
      () => GgufFile.open(path),
      (e: Error) => e.message === `${path}: not a GGUF file (wrong magic)`,
    );
    assert.throws(() => GgufFile.open(join(root, 'missing.gguf')), /missing\.gguf: ENOENT/);
  });
});

// ---- tokenizers: the SentencePiece family against transformers' own GGUF tokenizer

/** A small SentencePiece BPE vocabulary: <unk> <s> </s>, 256 byte tokens, then pieces best first. */
function sentencePieceMetadata(arch: string): Array<[string, MetaValue]> {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const pieces =
    '▁ e t a o i n s h r d l u c m w f g y p b v k T H é 東 京 ▁t he ▁the in er ▁a on re ▁s at en ▁w ▁o or is ▁c it es an ▁f ▁b ing ▁th ▁in ou ed ▁p ▁m ar ▁h al ▁The ▁T ▁東 東京 ▁東京 ▁▁ ▁▁▁▁ ca caf café ▁café'.split(
      ' ',
    );
  for (const p of [...pieces, '  ', '   ']) {
    tokens.push(p);
    types.push(1);
  }
  return [
    ['general.architecture', m.str(arch)],
    ['tokenizer.ggml.model', m.str('llama')],
    ['tokenizer.ggml.tokens', m.arr('string', tokens)],
    [
      'tokenizer.ggml.scores',
      m.arr(
        'f32',
        tokens.map((_, i) => (i < 259 ? 0 : 259 - i)),
      ),
    ],
    ['tokenizer.ggml.token_type', m.arr('i32', types)],
    ['tokenizer.ggml.bos_token_id', m.u32(1)],
    ['tokenizer.ggml.eos_token_id', m.u32(2)],
    ['tokenizer.ggml.unknown_token_id', m.u32(0)],
  ];
}

describe('GGUF SentencePiece tokenizers', () => {
  const texts = [
    'The cat sat on the mat.',
    'hello world',
    '  two spaces',
    'café 東京 ok',
    'a  b   c    d',
    'tab\there\nnewline',
    '',
    'Ünïcödé 🌍',
  ];
  it(
    'llama (Metaspace) and gemma (blank tokens, merges by position): transformers’ ids',
    { skip: !hasTransformers() && 'no .venv with transformers' },
    () => {
      // transformers reads gemma2/gemma3 GGUFs, not gemma 1, whose tokenizers are built alike
      for (const arch of ['llama', 'gemma2']) {
        const dir = join(root, `sp-${arch}`);
        mkdirSync(dir, { recursive: true });
        writeGguf(join(dir, 'sp.gguf'), { metadata: sentencePieceMetadata(arch), tensors: [] });
        const g = GgufFile.open(join(dir, 'sp.gguf'));
        const files = ggufTokenizer(Metadata.of(g));
        g.close();
        const tok = new TextTokenizer(files.tokenizer, files.tokenizerConfig);
        const py = spawnSync(
          python,
          [
            '-c',
            'import json, sys\nfrom transformers import AutoTokenizer\nt = AutoTokenizer.from_pretrained(sys.argv[1], gguf_file="sp.gguf")\nprint(json.dumps([t(x)["input_ids"] for x in json.loads(sys.argv[2])]))',
            dir,
            JSON.stringify(texts),
          ],
          { encoding: 'utf8' },
        );
        assert.equal(py.status, 0, py.stderr);
        const theirs = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as number[][];
        texts.forEach((text, i) => assert.deepEqual(tok.encode(text), theirs[i], `${arch}: ${JSON.stringify(text)}`));
      }
    },
  );
});

// ---- end to end: test models written as GGUF

const SIZES = { hiddenSize: 256, intermediateSize: 512 };
const TEXTS = [
  'Hello world, how are you?',
  'naïve café — 東京 🌍 ok',
  'def f(x):\n    return x ** 2  # square\n\n\tdone',
  '  leading and trailing spaces   ',
  'numbers 12345 and 3.14',
  '<|im_start|>user\nhi<|im_end|>',
];

for (const type of ['llama', 'qwen2', 'gemma'] as TestModelType[]) {
  describe(`GGUF ${type} (fp32 tensors) -> Hugging Face folder -> engine folder`, () => {
    const src = join(root, `${type}-src`);
    const gguf = join(root, `${type}.gguf`);
    const hf = join(root, `${type}-hf`);
    before(async () => {
      await writeTestModel({ type, outDir: src, seed: 7, ...SIZES });
      hfToGguf(src, gguf);
      await ggufToHf({ from: gguf, out: hf });
    });

    it('writes every tensor as the original, q/k permutation undone (gemma norms: (1 + w) - 1)', () => {
      const a = SafetensorsFile.open(join(src, 'model.safetensors'));
      const b = SafetensorsFile.open(join(hf, 'model.safetensors'));
      assert.deepEqual(b.names().sort(), a.names().sort());
      for (const name of a.names()) {
        assert.deepEqual(b.info(name)!.shape, a.info(name)!.shape, name);
        assert.equal(b.info(name)!.dtype, 'F32');
        let want = a.read(name);
        if (type === 'gemma' && name.endsWith('norm.weight')) want = want.map((w) => f(f(w + 1) - 1));
        assert.equal(firstBitDiff(b.read(name), want), -1, name);
      }
      a.close();
      b.close();
    });

    it('writes a config.json that reads as the original architecture', () => {
      const ours = readModelConfig(hf);
      const orig = readModelConfig(src);
      assert.deepEqual(
        { ...ours.dims, rmsNormEps: f(ours.dims.rmsNormEps) },
        { ...orig.dims, rmsNormEps: f(orig.dims.rmsNormEps) },
      );
      assert.deepEqual(ours.invFreq, orig.invFreq);
      const gen = readJson(hf, 'generation_config.json');
      assert.equal(gen.eos_token_id, readJson(src, 'config.json').eos_token_id);
    });

    it('writes a tokenizer that gives the original ids and text', () => {
      const a = new TextTokenizer(readJson(src, 'tokenizer.json'), readJson(src, 'tokenizer_config.json'));
      const b = new TextTokenizer(readJson(hf, 'tokenizer.json'), readJson(hf, 'tokenizer_config.json'));
      for (const text of TEXTS) {
        assert.deepEqual(b.encode(text), a.encode(text), text);
        assert.equal(b.decode(b.encodePlain(text)), a.decode(a.encodePlain(text)));
      }
      const cfg = readJson(hf, 'tokenizer_config.json');
      assert.equal(cfg.chat_template, "{% for m in messages %}{{ m['content'] }}{% endfor %}");
      assert.equal(cfg.add_bos_token, type !== 'qwen2');
    });

    it('converts to the engine layout with the same logits as the original checkpoint', async () => {
      const fromGguf = join(root, `${type}-engine-gguf`);
      const fromHf = join(root, `${type}-engine-hf`);
      const s = await convertGguf({ from: gguf, out: fromGguf, dtype: 'fp32' });
      assert.equal(s.modelType, type);
      assert.deepEqual(Object.keys(s.gguf.sourceTypes), ['F32']);
      await convertModel({ from: src, out: fromHf, dtype: 'fp32' });
      const d = dimsOf(readJson(src, 'config.json'));
      const opts = { intraOpNumThreads: 1 };
      const ids = [5, 17, 300, 42, 1000, 7, 8, 9];
      const x = await (
        await FastRunner.open(await ort.InferenceSession.create(join(fromGguf, 'onnx/model.onnx'), opts), d, 1, 16)
      ).step([ids]);
      const y = await (
        await FastRunner.open(await ort.InferenceSession.create(join(fromHf, 'onnx/model.onnx'), opts), d, 1, 16)
      ).step([ids]);
      x[0].forEach((l, s) => assert.equal(firstBitDiff(l, y[0][s]), -1, `position ${s}`));
      assert.ok(!readdirSync(root).some((n) => n.includes('from-gguf')), 'the temporary folder is gone');
    });
  });
}

describe('GGUF llama with quantized tensors, through `aligner convert`', () => {
  const src = join(root, 'q-src');
  const gguf = join(root, 'q.gguf');
  const quantOf: Record<string, QuantName> = {
    'model.embed_tokens.weight': 'Q8_0',
    'lm_head.weight': 'Q6_K',
    q_proj: 'Q4_K',
    k_proj: 'Q5_K',
    v_proj: 'Q4_1',
    o_proj: 'Q4_0',
    gate_proj: 'Q5_0',
    up_proj: 'Q5_1',
    down_proj: 'BF16',
  };
  const typeOf = (name: string, shape: number[]): QuantName =>
    shape.length === 1 ? 'F32' : (quantOf[name] ?? quantOf[/\.(\w+_proj)\./.exec(name)?.[1] ?? ''] ?? 'F16');
  const cli = runConvertCli;
  before(async () => {
    await writeTestModel({ type: 'llama', outDir: src, seed: 11, ...SIZES });
    hfToGguf(src, gguf, { typeOf, pre: 'smollm' });
  });

  it('--to hf: each tensor is the reference dequantization, rows un-permuted', async () => {
    const hf = join(root, 'q-hf');
    const printed = await cli(['--from', gguf, '--to', 'hf', '--out', hf]);
    assert.match(
      printed,
      /wrote llama Hugging Face folder to .*q-hf: .*M parameters, .* MiB of fp32 safetensors \(from /,
    );
    const file = GgufFile.open(gguf);
    const ours = SafetensorsFile.open(join(hf, 'model.safetensors'));
    const orig = SafetensorsFile.open(join(src, 'model.safetensors'));
    const cfg = readJson(src, 'config.json');
    for (const name of orig.names()) {
      const t = file.tensor(ggufTensorName(name))!;
      const shape = orig.info(name)!.shape;
      const type = typeOf(name, shape);
      assert.equal(t.type.name, type);
      const ref = refDequant(type, file.readRaw(t), t.count);
      let got = ours.read(name);
      // undo our un-permutation with the helper's forward permutation: must give the file's rows
      if (name.includes('.q_proj.')) got = permuteRows(got, cfg.num_attention_heads, shape[1]);
      if (name.includes('.k_proj.')) got = permuteRows(got, cfg.num_key_value_heads, shape[1]);
      assert.equal(firstBitDiff(got, ref), -1, `${name} (${type})`);
      // and close to the original weights (std 0.02): the layout was read right
      const o = orig.read(name);
      const back = ours.read(name);
      let worst = 0;
      o.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - back[i]))));
      assert.ok(worst < 0.05, `${name} (${type}): max error ${worst}`);
    }
    file.close();
    ours.close();
    orig.close();
    // the file's "smollm" pre-tokenizer splits digits one by one
    const tok = new TextTokenizer(readJson(hf, 'tokenizer.json'), readJson(hf, 'tokenizer_config.json'));
    assert.deepEqual(tok.encodePlain('2024').length, 4);
  });

  it('-> the engine layout, int4: the engine loads it and corrects', async () => {
    const out = join(root, 'q-engine');
    const printed = await cli(['--from', gguf, '--out', out, '--dtype', 'int4']);
    assert.match(printed, /wrote llama fast int4 model .* \(from GGUF: .*Q4_K.*\)/);
    const host = new EngineHost({ threads: 1 });
    try {
      await host.loadModel({ path: out });
      const r = await host.correct({
        requestId: 'g1',
        question: 'What is 2 + 2?',
        answer: 'It is 5.',
        generation: { maxNewTokens: 6, temperature: 0 },
      });
      assert.equal(r.tokenIds!.length, r.usage.completionTokens);
      assert.ok(r.usage.promptTokens > 10);
    } finally {
      await host.close();
    }
  });

  it('reads Llama 3.1 rope scaling from rope_freqs, and refuses factors that are not llama3’s', async () => {
    // convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors, in float64 as Python computes it
    const headDim = 64;
    const factors = Float32Array.from({ length: headDim / 2 }, (_, j) => {
      const wavelen = (2 * Math.PI) / (1 / 10000 ** ((2 * j) / headDim));
      if (wavelen < 8192 / 4) return 1;
      if (wavelen > 8192 / 1) return 8;
      const smooth = (8192 / wavelen - 1) / (4 - 1);
      return 1 / ((1 - smooth) / 8 + smooth);
    });
    const withFreqs =
      (values: Float32Array) =>
      (_: unknown, t: Array<{ name: string; dims: number[]; typeId: number; data: Uint8Array }>) =>
        t.push({ name: 'rope_freqs.weight', dims: [headDim / 2], typeId: 0, data: quantize('F32', values) });
    const path = join(root, 'rope.gguf');
    hfToGguf(src, path, { edit: withFreqs(factors) });
    const out = join(root, 'rope-hf');
    await ggufToHf({ from: path, out });
    assert.deepEqual(readJson(out, 'config.json').rope_parameters, {
      rope_theta: 10000,
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    });
    // transformers' llama3 frequencies are the plain ones divided by the file's factors (to float32 rounding)
    const inv = readModelConfig(out).invFreq;
    inv.forEach((v, j) =>
      assert.ok(Math.abs(v * factors[j] * 10000 ** ((2 * j) / headDim) - 1) < 1e-6, `frequency ${j}`),
    );
    hfToGguf(src, path, { edit: withFreqs(factors.map((x, j) => (j === 20 ? x * 1.1 : x))) });
    await assert.rejects(ggufToHf({ from: path, out }), /rope\.gguf: rope_freqs\.weight is not llama3 rope scaling/);
  });

  it('refuses files that are well-formed but wrong, naming the file and the problem', async () => {
    const bad = (name: string, edit: NonNullable<Parameters<typeof hfToGguf>[2]>['edit']) => {
      const path = join(root, `${name}.gguf`);
      hfToGguf(src, path, { edit });
      return ggufToHf({ from: path, out: join(root, `${name}-hf`) });
    };
    const set = (md: Array<[string, MetaValue]>, key: string, v: MetaValue) => (md.find(([k]) => k === key)![1] = v);
    await assert.rejects(
      bad('shape', (_, t) => (t.find((x) => x.name === 'blk.0.ffn_up.weight')!.dims = [256, 256])),
      /shape\.gguf: tensor blk\.0\.ffn_up\.weight has shape \[256,256\], the metadata implies \[512,256\]/,
    );
    await assert.rejects(
      bad('iq2', (_, t) => {
        const x = t.find((y) => y.name === 'blk.1.attn_v.weight')!;
        x.typeId = 16; // IQ2_XXS: 66 bytes per 256 values
        x.data = new Uint8Array((x.dims[0] * x.dims[1] * 66) / 256);
      }),
      /iq2\.gguf: tensor blk\.1\.attn_v\.weight is IQ2_XXS, which this converter cannot dequantize \(supported: F32, F16, BF16, Q8_0/,
    );
    await assert.rejects(
      bad('arch', (md) => set(md, 'general.architecture', m.str('mamba'))),
      /arch\.gguf: architecture "mamba" is not supported \(supported: llama, qwen2, gemma\)/,
    );
    await assert.rejects(
      bad('kv', (md) => set(md, 'llama.attention.head_count_kv', m.u32(0))),
      /kv\.gguf: 4 attention heads do not split into 0 key\/value heads/,
    );
    await assert.rejects(
      bad('heads', (md) => set(md, 'llama.attention.head_count', m.str('four'))),
      /heads\.gguf: metadata llama\.attention\.head_count should be a number/,
    );
    await assert.rejects(
      bad('missing', (_, t) =>
        t.splice(
          t.findIndex((x) => x.name === 'output_norm.weight'),
          1,
        ),
      ),
      /missing\.gguf: no tensor for model\.norm\.weight/,
    );
    await assert.rejects(
      bad('tok', (md) => set(md, 'tokenizer.ggml.model', m.str('bert'))),
      /tok\.gguf: tokenizer model "bert" is not supported \(gpt2, llama\)/,
    );
  });

  it('refuses wrong uses with one clear line', async () => {
    await assert.rejects(
      cli(['--from', src, '--to', 'hf', '--out', join(root, 'x')]),
      /onnx\/model\.onnx: not the converter's fast layout .*: --to hf reads back only models `aligner convert` wrote/,
    );
    await assert.rejects(
      cli(['--from', gguf, '--to', 'hf', '--dtype', 'int8', '--out', join(root, 'x')]),
      /fp32 safetensors only/,
    );
    const notGguf = join(root, 'model.bin');
    writeFileSync(notGguf, Buffer.alloc(64, 1));
    await assert.rejects(
      cli(['--from', notGguf, '--out', join(root, 'x')]),
      (e: Error) => e.message === `${notGguf}: not a GGUF file (wrong magic)`,
    );
  });
});
