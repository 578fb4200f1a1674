// safetensors reading/writing (F32, F16, BF16), half-float conversions, sharded checkpoints, and the
// HF checkpoint that every test model now carries next to its ONNX graph.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Checkpoint } from '../../../server/convert/checkpoint.js';
import { bf16ArrayToFloat, floatArrayToBf16, halfToFloat, toHalfBits } from '../../../server/convert/halfFloat.js';
import { hfWeightSpecs } from '../../../server/convert/hfWeights.js';
import { SafetensorsFile, SafetensorsWriter, writeSafetensors } from '../../../server/convert/safetensors.js';
import { Rng } from '../../../server/util/rng.js';
import { resolveDims, writeTestModel } from '../../../server/testmodel/writeTestModel.js';
import { readInitializers } from '../testmodel/hfReference.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-safetensors-'));
after(() => rmSync(root, { recursive: true, force: true }));

const random = (n: number, std = 1) => new Rng(n).fillNormal(new Float32Array(n), std);

describe('half floats', () => {
  it('converts the IEEE half edge cases exactly', () => {
    // [value, half bits, exact (value is a half)]
    const cases: Array<[number, number, boolean]> = [
      [0, 0x0000, true],
      [-0, 0x8000, true],
      [1, 0x3c00, true],
      [-2, 0xc000, true],
      [65504, 0x7bff, true], // largest half
      [2 ** -24, 0x0001, true], // smallest subnormal
      [2 ** -14, 0x0400, true], // smallest normal
      [Infinity, 0x7c00, true],
      [-Infinity, 0xfc00, true],
      [65520, 0x7c00, false], // rounds up to Inf
      [1 + 2 ** -11, 0x3c00, false], // tie -> even (down)
      [1 + 3 * 2 ** -11, 0x3c02, false], // tie -> even (up)
      [3 * 2 ** -26, 0x0001, false], // subnormal rounding
      [2 ** -26, 0x0000, false], // underflow
    ];
    for (const [v, bits, exact] of cases) {
      assert.equal(toHalfBits(v), bits, `toHalf(${v})`);
      if (exact) assert.equal(halfToFloat(bits), v);
    }
    assert.ok(Number.isNaN(halfToFloat(toHalfBits(NaN))));
    // every half value survives float -> half
    for (let h = 0; h < 65536; h++) {
      const f = halfToFloat(h);
      if (!Number.isNaN(f)) assert.equal(toHalfBits(f), h);
    }
  });

  it('rounds bfloat16 to nearest even', () => {
    const x = new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.14159, 3e38]);
    const back = bf16ArrayToFloat(floatArrayToBf16(x));
    assert.deepEqual(Array.from(back.slice(0, 3)), [1, 1, 1 + 2 ** -6]);
    assert.ok(Math.abs(back[3] + 3.14159) < 0.02);
    assert.ok(Math.abs(back[4] / 3e38 - 1) < 2 ** -8);
  });
});

describe('safetensors', () => {
  it('round-trips F32, F16 and BF16 tensors with metadata', () => {
    const path = join(root, 'rt.safetensors');
    const a = random(6 * 5);
    const b = random(7, 100);
    const c = random(3 * 4 * 2);
    writeSafetensors(
      path,
      [
        { name: 'a', dtype: 'F32', shape: [6, 5], data: a },
        { name: 'b.half', dtype: 'F16', shape: [7], data: b },
        { name: 'c.bf16', dtype: 'BF16', shape: [3, 4, 2], data: c },
      ],
      { format: 'pt', note: 'x' },
    );
    const raw = readFileSync(path);
    const headerLen = Number(raw.readBigUInt64LE(0));
    assert.equal((8 + headerLen) % 8, 0, 'data starts 8-byte aligned');
    const header = JSON.parse(raw.subarray(8, 8 + headerLen).toString());
    assert.deepEqual(header.__metadata__, { format: 'pt', note: 'x' });
    assert.deepEqual(header.a, { dtype: 'F32', shape: [6, 5], data_offsets: [0, 120] });
    assert.equal(raw.length, 8 + headerLen + 120 + 14 + 48, 'no holes');

    const f = SafetensorsFile.open(path);
    assert.deepEqual(f.names(), ['a', 'b.half', 'c.bf16']);
    assert.deepEqual(f.metadata, { format: 'pt', note: 'x' });
    assert.deepEqual(f.read('a'), a);
    const bh = f.read('b.half');
    b.forEach((v, i) => assert.ok(Math.abs(bh[i] - v) <= Math.abs(v) * 2 ** -11, `f16 ${v} -> ${bh[i]}`));
    assert.deepEqual(f.read('c.bf16'), bf16ArrayToFloat(floatArrayToBf16(c)));
    assert.equal(f.info('c.bf16')!.dtype, 'BF16');
    assert.throws(() => f.read('nope'), /no tensor nope/);
    f.close();
  });

  it('streams declared tensors in any order and refuses holes', () => {
    const path = join(root, 'stream.safetensors');
    const w = SafetensorsWriter.create(path, [
      { name: 'x', dtype: 'F32', shape: [2] },
      { name: 'y', dtype: 'F16', shape: [3] },
    ]);
    w.write('y', new Float32Array([1, 2, 3]));
    w.write('x', new Float32Array([4, 5]));
    assert.throws(() => w.write('z', new Float32Array(1)), /not declared/);
    assert.throws(() => w.write('x', new Float32Array(3)), /needs 2 values/);
    w.close();
    const f = SafetensorsFile.open(path);
    assert.deepEqual(Array.from(f.read('x')), [4, 5]);
    assert.deepEqual(Array.from(f.read('y')), [1, 2, 3]);
    f.close();
    const w2 = SafetensorsWriter.create(join(root, 'hole.safetensors'), [{ name: 'x', dtype: 'F32', shape: [2] }]);
    assert.throws(() => w2.close(), /never written: x/);
  });

  it('reads sharded checkpoints through model.safetensors.index.json', () => {
    const dir = join(root, 'sharded');
    mkdirSync(dir);
    const x = random(8);
    const y = random(12);
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [
      { name: 'x', dtype: 'BF16', shape: [8], data: x },
    ]);
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [
      { name: 'y', dtype: 'F32', shape: [3, 4], data: y },
    ]);
    const index = {
      metadata: { total_size: 64 },
      weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' },
    };
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    const ck = Checkpoint.open(dir);
    assert.deepEqual(ck.names().sort(), ['x', 'y']);
    assert.deepEqual(ck.info('y').shape, [3, 4]);
    assert.deepEqual(ck.read('y'), y);
    assert.deepEqual(ck.read('x'), bf16ArrayToFloat(floatArrayToBf16(x)));
    ck.close();
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { ...index.weight_map, x: index.weight_map.y } }),
    );
    assert.throws(() => Checkpoint.open(dir), /tensor x is not in model-00002/);
  });
});

describe('test models carry their Hugging Face weights', () => {
  for (const type of ['llama', 'gemma', 'qwen2'] as const) {
    it(`${type}: model.safetensors holds the ONNX weights with HF names, shapes and layout`, async () => {
      const dir = join(root, `tm-${type}`);
      await writeTestModel({ type, outDir: dir, seed: 3 });
      const onnxW = readInitializers(join(dir, 'onnx', 'model.onnx'));
      const st = SafetensorsFile.open(join(dir, 'model.safetensors'));
      assert.deepEqual(st.metadata, { format: 'pt' });
      const specs = hfWeightSpecs(resolveDims({ type }));
      assert.deepEqual(st.names().sort(), specs.map((s) => s.name).sort());
      assert.equal(st.names().includes('lm_head.weight'), type === 'llama', 'lm_head only when untied');
      if (type === 'qwen2') assert.ok(st.names().includes('model.layers.0.self_attn.k_proj.bias'));
      for (const spec of specs) {
        const info = st.info(spec.name)!;
        assert.equal(info.dtype, 'F32');
        assert.deepEqual(info.shape, spec.shape, spec.name);
        const hf = st.read(spec.name);
        const o = onnxW.get(spec.name)!;
        if (spec.shape.length === 2 && spec.name !== 'model.embed_tokens.weight') {
          // HF [out, in] is the ONNX MatMul weight [in, out] transposed
          const [outDim, inDim] = spec.shape;
          assert.deepEqual(o.dims, [inDim, outDim]);
          for (const [r, c] of [
            [0, 0],
            [outDim - 1, 0],
            [1, inDim - 1],
            [outDim >> 1, inDim >> 1],
          ])
            assert.equal(hf[r * inDim + c], o.data[c * outDim + r], `${spec.name}[${r},${c}]`);
        } else {
          // norms keep HF's convention: gemma stores w and computes (1 + w), as the graph does
          assert.deepEqual(hf, o.data, spec.name);
        }
      }
      st.close();
    });
  }

  it('can skip the checkpoint, and the ONNX graph does not change with it', async () => {
    const a = await writeTestModel({ type: 'gemma', outDir: join(root, 'st-a'), seed: 9 });
    const b = await writeTestModel({ type: 'gemma', outDir: join(root, 'st-b'), seed: 9, safetensors: false });
    assert.ok(readFileSync(join(a.dir, 'onnx/model.onnx')).equals(readFileSync(join(b.dir, 'onnx/model.onnx'))));
    assert.throws(() => readFileSync(join(b.dir, 'model.safetensors')));
  });
});
