// Converter tests on the tiny llama / gemma / qwen2 test models (which carry model.safetensors):
// the Optimum export reproduces the test model, the fast layout driven like the engine drives it
// matches the Optimum layout step by step, and the fp16 / int8 / int4 encodings stay close.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { registerConvertCommand } from '../../../server/cli/convertCommand.js';
import { convertModel, type ConvertDtype } from '../../../server/convert/convertModel.js';
import { SafetensorsFile, writeSafetensors } from '../../../server/convert/safetensors.js';
import { readModelFolder } from '../../../server/engine/modelFolder.js';
import { writeTestModel, type TestModelType } from '../../../server/testmodel/writeTestModel.js';
import { FastRunner, OptimumRunner, argmax, dimsOf, maxAbsDiff, type Dims } from './runners.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-convert-'));
after(() => rmSync(root, { recursive: true, force: true }));

const OPTS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' };
const open = (dir: string) => ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'), OPTS);
const readJson = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const onnxSize = (dir: string) => statSync(join(dir, 'onnx', 'model.onnx')).size;

const PROMPT_LEN = 20;
const prompt = (vocab: number, seed = 0) =>
  Array.from({ length: PROMPT_LEN }, (_, i) => 4 + ((i * 37 + seed * 101 + 11) % (vocab - 4)));

/** Prefill in chunks, then greedy decode; logits of every prompt position and decode step. */
async function runFast(r: FastRunner, tokens: number[], chunk: number, steps: number, forced?: number[]) {
  const logits: Float32Array[] = [];
  for (let c = 0; c < tokens.length; c += chunk) logits.push(...(await r.step([tokens.slice(c, c + chunk)]))[0]);
  const greedy: number[] = [];
  for (let t = 0; t < steps; t++) {
    const next = forced?.[t] ?? argmax(logits.at(-1)!);
    greedy.push(argmax(logits.at(-1)!));
    logits.push((await r.step([[next]]))[0][0]);
  }
  return { logits, greedy };
}

const TYPES: TestModelType[] = ['llama', 'gemma', 'qwen2'];
const DTYPES: ConvertDtype[] = ['fp32', 'fp16', 'int8', 'int4'];

for (const type of TYPES) {
  describe(`convert ${type}`, () => {
    const src = join(root, type);
    const out = (name: string) => join(root, `${type}-${name}`);
    let d: Dims;
    const sessions: Record<string, ort.InferenceSession> = {};
    const maxErr: Record<string, number> = {};

    before(async () => {
      await writeTestModel({ type, outDir: src, seed: 21 });
      d = dimsOf(readJson(src, 'config.json'));
      sessions.test = await open(src);
      await convertModel({ from: src, out: out('optimum'), layout: 'optimum' });
      sessions.optimum = await open(out('optimum'));
      for (const dtype of DTYPES) {
        const s = await convertModel({ from: src, out: out(dtype), layout: 'fast', dtype });
        maxErr[dtype] = s.maxWeightError;
        sessions[dtype] = await open(out(dtype));
      }
    });

    it('optimum: the TypeScript export of the safetensors reproduces the test model', async () => {
      const ids = prompt(d.vocab);
      const a = await new OptimumRunner(sessions.test, d).step(ids);
      const b = await new OptimumRunner(sessions.optimum, d).step(ids);
      for (let s = 0; s < ids.length; s++) assert.ok(maxAbsDiff(a[s], b[s]) <= 1e-5, `position ${s}`);
      assert.deepEqual(sessions.optimum.inputNames, sessions.test.inputNames);
    });

    it('fast fp32: chunked prefill and greedy decode match the Optimum layout', async () => {
      const ids = prompt(d.vocab);
      const opt = new OptimumRunner(sessions.optimum, d);
      const ref = await opt.step(ids);
      const fast = await runFast(await FastRunner.open(sessions.fp32, d, 1, 64), ids, 7, 10);
      let worst = 0;
      for (let s = 0; s < PROMPT_LEN; s++) worst = Math.max(worst, maxAbsDiff(fast.logits[s], ref[s]));
      let next = argmax(ref.at(-1)!);
      for (let t = 0; t < 10; t++) {
        assert.equal(fast.greedy[t], next, `greedy token ${t}`);
        const step = (await opt.step([next]))[0];
        worst = Math.max(worst, maxAbsDiff(fast.logits[PROMPT_LEN + t], step));
        next = argmax(step);
      }
      assert.ok(worst <= 1e-4, `max |fast - optimum| = ${worst}`);
      assert.deepEqual(sessions.fp32.outputNames.slice(0, 3), ['logits', 'new.0.key', 'new.0.value']);
    });

    it('fast fp32: a capacity-0 cache works for a first prefill', async () => {
      const ids = prompt(d.vocab).slice(0, 9);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, 9]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, 9]),
        past_bias: new ort.Tensor('float32', new Float32Array(0), [1, 1, 1, 0]),
        logits_start: new ort.Tensor('int64', BigInt64Array.of(0n), [1]),
      };
      for (let i = 0; i < d.layers; i++)
        for (const kind of ['key', 'value'])
          feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
            1,
            d.kvHeads,
            0,
            d.headDim,
          ]);
      const out = await sessions.fp32.run(feeds);
      const ref = (await (await FastRunner.open(sessions.fp32, d, 1, 16)).step([ids]))[0];
      const logits = out.logits.data as Float32Array;
      ref.forEach((l, s) => assert.ok(maxAbsDiff(l, logits.subarray(s * d.vocab, (s + 1) * d.vocab)) <= 1e-5));
      assert.deepEqual(out['new.0.key'].dims, [1, d.kvHeads, 9, d.headDim]);
    });

    it('fast, every dtype: logits_start returns the last positions only, equal to the full call', async () => {
      const ids = prompt(d.vocab).slice(0, 12);
      for (const dtype of DTYPES) {
        const full = (await (await FastRunner.open(sessions[dtype], d, 1, 32)).step([ids]))[0];
        for (const start of [ids.length - 1, 5]) {
          const part = (await (await FastRunner.open(sessions[dtype], d, 1, 32)).step([ids], start))[0];
          assert.equal(part.length, ids.length - start, `${dtype}: positions from ${start}`);
          part.forEach((l, j) => assert.ok(maxAbsDiff(l, full[start + j]) <= 1e-5, `${dtype}: position ${start + j}`));
        }
      }
    });

    it('fast fp32: a 2-row batch of different lengths gives each row its logits alone', async () => {
      const rowA = prompt(d.vocab, 1);
      const rowB = prompt(d.vocab, 2).slice(0, 13);
      const solo = async (ids: number[]) => runFast(await FastRunner.open(sessions.fp32, d, 1, 64), ids, 7, 6);
      const [a, b] = [await solo(rowA), await solo(rowB)];
      const batch = await FastRunner.open(sessions.fp32, d, 2, 64);
      // batched prefill in chunks of 7: row B is right-padded in its last chunk, then empty
      const got: Float32Array[][] = [[], []];
      for (let c = 0; c < PROMPT_LEN; c += 7) {
        const r = await batch.step([rowA.slice(c, c + 7), rowB.slice(c, c + 7)]);
        got[0].push(...r[0]);
        got[1].push(...r[1]);
      }
      let worst = 0;
      for (let t = 0; t < 6; t++) {
        const r = await batch.step([[a.greedy[t]], [b.greedy[t]]]);
        got[0].push(r[0][0]);
        got[1].push(r[1][0]);
      }
      assert.deepEqual(batch.lengths, [PROMPT_LEN + 6, 13 + 6]);
      got[0].forEach((l, i) => (worst = Math.max(worst, maxAbsDiff(l, a.logits[i]))));
      got[1].forEach((l, i) => (worst = Math.max(worst, maxAbsDiff(l, b.logits[i]))));
      assert.ok(worst <= 1e-4, `max |batched - alone| = ${worst}`);
    });

    it('fast fp16 stays within ~1e-2 of fp32 and halves the file', async () => {
      const ids = prompt(d.vocab);
      const ref = await runFast(await FastRunner.open(sessions.fp32, d, 1, 64), ids, 7, 8);
      const half = await runFast(await FastRunner.open(sessions.fp16, d, 1, 64), ids, 7, 8, ref.greedy);
      let worst = 0;
      ref.logits.forEach((l, i) => (worst = Math.max(worst, maxAbsDiff(l, half.logits[i]))));
      // All of it is weight rounding: with head_dim 16 (exact q scale) the fp16 graph matches an fp32
      // graph of the fp16-rounded weights to 1e-5. These random models amplify it (logits up to ~13).
      assert.ok(worst <= 2.5e-2, `max |fp16 - fp32| = ${worst}`);
      assert.ok(maxErr.fp16 > 0 && maxErr.fp16 < 5e-3, `fp16 weight error ${maxErr.fp16}`);
      // the fp32 rotary tables stay, so a tiny model is a little over half
      assert.ok(onnxSize(out('fp16')) < 0.6 * onnxSize(out('fp32')));
    });

    it('fast int8 / int4 run, shrink the file, and mostly agree with fp32 (reported)', async (t) => {
      const ids = prompt(d.vocab);
      const ref = await runFast(await FastRunner.open(sessions.fp32, d, 1, 64), ids, 7, 32);
      const fp32Size = onnxSize(out('fp32'));
      for (const dtype of ['int8', 'int4'] as const) {
        // teacher-forced on fp32's tokens, so every step compares the same context
        const q = await runFast(await FastRunner.open(sessions[dtype], d, 1, 64), ids, 7, 32, ref.greedy);
        const agree = q.greedy.filter((tok, i) => tok === ref.greedy[i]).length;
        let worst = 0;
        ref.logits.forEach((l, i) => (worst = Math.max(worst, maxAbsDiff(l, q.logits[i]))));
        const ratio = onnxSize(out(dtype)) / fp32Size;
        t.diagnostic(
          `${type} ${dtype}: greedy agrees with fp32 ${agree}/32, max |logit diff| ${worst.toFixed(3)}, ` +
            `max weight error ${maxErr[dtype].toExponential(2)}, file ${(ratio * 100).toFixed(0)}% of fp32`,
        );
        assert.ok(q.logits.every((l) => l.every(Number.isFinite)));
        assert.ok(agree >= 8, `${dtype}: only ${agree}/32 greedy tokens agree`);
        assert.ok(ratio < (dtype === 'int8' ? 0.55 : 0.45), `${dtype} file is ${ratio} of fp32`);
      }
      assert.ok(maxErr.int8 < maxErr.int4);
      assert.ok(onnxSize(out('int4')) < onnxSize(out('int8')));
    });

    it('writes a model folder the engine reads, with layout and dtype in aligner.json', () => {
      for (const name of ['optimum', 'int4']) {
        const dir = out(name);
        for (const f of [
          'config.json',
          'generation_config.json',
          'tokenizer.json',
          'tokenizer_config.json',
          'special_tokens_map.json',
        ])
          assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(src, f))), `${f} copied`);
        const spec = readModelFolder(dir);
        assert.equal(spec.modelType, type);
        assert.equal(spec.template, 'correction');
      }
      assert.deepEqual(readJson(out('optimum'), 'aligner.json'), {
        template: 'correction',
        generation: { maxNewTokens: 128 },
        testModel: true,
        layout: 'optimum',
        dtype: 'fp32',
      });
      const a = readJson(out('int4'), 'aligner.json');
      assert.equal(a.layout, 'fast');
      assert.equal(a.dtype, 'int4');
      assert.deepEqual(a.quantization, {
        op: 'MatMulNBits',
        bits: 4,
        blockSize: 32,
        symmetric: true,
        accuracyLevel: 4,
        outputLayerBits: 8,
        embedding: { op: 'GatherBlockQuantized', bits: 8, blockSize: 32 },
      });
    });
  });
}

describe('convert: checkpoint forms, external data, errors, CLI', () => {
  const src = join(root, 'forms-src');
  before(async () => {
    await writeTestModel({ type: 'qwen2', outDir: src, seed: 5 });
  });

  it('reads a sharded bf16 checkpoint (index.json) like the single fp32 file, up to bf16 rounding', async () => {
    const dir = join(root, 'sharded');
    rmSync(dir, { recursive: true, force: true });
    await writeTestModel({ type: 'qwen2', outDir: dir, seed: 5 });
    const st = SafetensorsFile.open(join(dir, 'model.safetensors'));
    const names = st.names();
    const tensors = names.map((name) => ({
      name,
      dtype: 'BF16' as const,
      shape: st.info(name)!.shape,
      data: st.read(name),
    }));
    st.close();
    rmSync(join(dir, 'model.safetensors'));
    const half = Math.ceil(tensors.length / 2);
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    writeSafetensors(join(dir, shards[0]), tensors.slice(0, half));
    writeSafetensors(join(dir, shards[1]), tensors.slice(half));
    const weightMap = Object.fromEntries(tensors.map((t, i) => [t.name, shards[i < half ? 0 : 1]]));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await convertModel({ from: dir, out: join(root, 'sharded-out'), dtype: 'fp32' });
    await convertModel({ from: src, out: join(root, 'single-out'), dtype: 'fp32' });
    const d = dimsOf(readJson(src, 'config.json'));
    const ids = prompt(d.vocab);
    const x = await (await FastRunner.open(await open(join(root, 'sharded-out')), d, 1, 32)).step([ids]);
    const y = await (await FastRunner.open(await open(join(root, 'single-out')), d, 1, 32)).step([ids]);
    const diff = Math.max(...x[0].map((l, s) => maxAbsDiff(l, y[0][s])));
    assert.ok(diff > 0 && diff < 0.5, `bf16 vs fp32 weights: ${diff}`);
  });

  it('writes external data above the threshold, with the same logits', async () => {
    await convertModel({ from: src, out: join(root, 'inline'), dtype: 'int4' });
    const s = await convertModel({
      from: src,
      out: join(root, 'ext'),
      dtype: 'int4',
      externalDataThresholdBytes: 1000,
    });
    assert.ok(s.externalData);
    assert.ok(existsSync(join(root, 'ext', 'onnx', 'model.onnx_data')));
    assert.ok(onnxSize(join(root, 'ext')) < 50_000, 'graph file holds no large weights');
    const d = dimsOf(readJson(src, 'config.json'));
    const ids = prompt(d.vocab);
    const x = await (await FastRunner.open(await open(join(root, 'inline')), d, 1, 32)).step([ids]);
    const y = await (await FastRunner.open(await open(join(root, 'ext')), d, 1, 32)).step([ids]);
    assert.deepEqual(x, y);
  });

  it('refuses unsupported models and checkpoints that do not match the config', async () => {
    const bad = join(root, 'bad');
    await writeTestModel({ type: 'llama', outDir: bad, seed: 1 });
    const cfg = readJson(bad, 'config.json');
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, model_type: 'mistral' }));
    await assert.rejects(
      convertModel({ from: bad, out: join(root, 'bad-out') }),
      /model_type "mistral" is not supported/,
    );
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: cfg.intermediate_size * 2 }));
    await assert.rejects(
      convertModel({ from: bad, out: join(root, 'bad-out') }),
      /shape \[512,128\] in the checkpoint/,
    );
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, tie_word_embeddings: true }));
    // a tied config ignores a saved lm_head copy, as transformers does
    await convertModel({ from: bad, out: join(root, 'bad-out') });
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
    await assert.rejects(convertModel({ from: bad, out: join(root, 'bad-out') }), /does not use: model\.layers\.1\./);
    await assert.rejects(
      convertModel({ from: bad, out: join(root, 'x'), layout: 'optimum', dtype: 'int4' }),
      /fp32 only/,
    );
    rmSync(join(bad, 'model.safetensors'));
    writeFileSync(join(bad, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(convertModel({ from: bad, out: join(root, 'bad-out') }), /no model\.safetensors/);
  });

  it('runs as `aligner convert`', async () => {
    const program = new Command('aligner').exitOverride();
    registerConvertCommand(program);
    const dir = join(root, 'cli-out');
    const write = process.stdout.write;
    let printed = '';
    process.stdout.write = ((s: string) => ((printed += s), true)) as typeof process.stdout.write;
    try {
      await program.parseAsync(['convert', '--from', src, '--out', dir, '--dtype', 'int8', '--block-size', '16'], {
        from: 'user',
      });
    } finally {
      process.stdout.write = write;
    }
    assert.match(printed, /wrote qwen2 fast int8 model/);
    assert.match(printed, /max weight error/);
    assert.equal(readJson(dir, 'aligner.json').dtype, 'int8');
    assert.equal(readJson(dir, 'aligner.json').quantization.blockSize, 16);
    await assert.rejects(
      program.parseAsync(['convert', '--from', src, '--out', dir, '--dtype', 'int3'], { from: 'user' }),
      /must be one of/,
    );
  });
});
