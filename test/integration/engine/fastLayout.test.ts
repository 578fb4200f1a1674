// The fast layout (engine-owned KV cache) must decode exactly like the Optimum layout, alone, in
// mixed-length batches, and with copy-aware speculation on.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertModel } from '../../../server/convert/convertModel.js';
import { EngineHost } from '../../../server/engine/host.js';
import type { CorrectResult } from '../../../server/protocol/index.js';
import { FastDecoder } from '../../../server/engine/fastDecoder.js';
import { FastBackend } from '../../../server/engine/kv/fastBackend.js';
import { readModelFolder } from '../../../server/engine/modelFolder.js';
import { buildPrompt } from '../../../server/engine/templates.js';
import { TextTokenizer } from '../../../server/engine/tokenizer.js';
import type { EngineHostOptions } from '../../../server/engine/host.js';
import { MODEL_TYPES, testModel } from '../../helpers/testModels.js';

const hosts: EngineHost[] = [];
after(async () => Promise.all(hosts.map((h) => h.close())));
const root = mkdtempSync(join(tmpdir(), 'aligner-fast-'));

async function fastModel(type: (typeof MODEL_TYPES)[number]): Promise<string> {
  const out = join(root, type);
  await convertModel({ from: await testModel(type), out, layout: 'fast', dtype: 'fp32' });
  return out;
}

async function host(path: string, opts: EngineHostOptions = {}): Promise<EngineHost> {
  const h = new EngineHost({ threads: 1, ...opts });
  hosts.push(h);
  await h.loadModel({ path });
  return h;
}

const requests = Array.from({ length: 6 }, (_, i) => ({
  requestId: `r${i}`,
  question: `Question ${i}: ${'how and why '.repeat(i * 2)}?`,
  answer: `Answer ${i}: it depends on ${'the details '.repeat(i)}.`,
  generation: { maxNewTokens: 20, temperature: 0 },
}));

for (const type of MODEL_TYPES) {
  test(`${type}: fast fp32 gives the Optimum layout's greedy tokens, alone and in mixed-length batches`, async () => {
    const optimum = await host(await testModel(type), { speculationMaxBatch: 0 });
    const fast = await host(await fastModel(type), { speculationMaxBatch: 0 });
    assert.equal(fast.listModels().models[0]!.layout, 'fast');
    const reference: CorrectResult[] = [];
    for (const r of requests) reference.push(await optimum.correct(r));
    const alone: CorrectResult[] = [];
    for (const r of requests) alone.push(await fast.correct(r));
    const batched = await Promise.all(requests.map((r) => fast.correct({ ...r, requestId: r.requestId + 'b' })));
    requests.forEach((_, i) => {
      assert.deepEqual(alone[i]!.tokenIds, reference[i]!.tokenIds, `request ${i} alone`);
      assert.deepEqual(batched[i]!.tokenIds, reference[i]!.tokenIds, `request ${i} batched`);
    });
  });
}

test('speculation changes no greedy token, alone or batched, and does get drafts accepted', async () => {
  const path = await fastModel('llama');
  const plain = await host(path, { speculationMaxBatch: 0 });
  const spec = await host(path, { speculationMaxBatch: 4 });
  const long = requests.map((r) => ({ ...r, generation: { maxNewTokens: 60, temperature: 0 } }));
  const expected: CorrectResult[] = [];
  for (const r of long) expected.push(await plain.correct(r));
  let drafted = 0;
  let accepted = 0;
  for (const [i, r] of long.entries()) {
    const got = await spec.correct(r);
    assert.deepEqual(got.tokenIds, expected[i]!.tokenIds, `request ${i}`);
    drafted += got.timings.draftTokens ?? 0;
    accepted += got.timings.acceptedDraftTokens ?? 0;
  }
  const batched = await Promise.all(long.slice(0, 3).map((r) => spec.correct({ ...r, requestId: r.requestId + 's' })));
  batched.forEach((got, i) => assert.deepEqual(got.tokenIds, expected[i]!.tokenIds, `batched request ${i}`));
  assert.ok(drafted > 0, 'drafts were proposed');
  assert.ok(accepted > 0, `some drafts were accepted (${accepted}/${drafted})`);
});

test('sampling with speculation stays seeded and within the nucleus', async () => {
  const path = await fastModel('qwen2');
  const spec = await host(path, { speculationMaxBatch: 4 });
  const topK = 5;
  const r = { ...requests[1]!, generation: { maxNewTokens: 30, temperature: 0.8, topK, seed: 7 } };
  const a = await spec.correct(r);
  const b = await spec.correct({ ...r, requestId: 'again' });
  assert.deepEqual(a.tokenIds, b.tokenIds);
  assert.ok((a.timings.draftTokens ?? 0) > 0, 'speculation ran');

  // Within the nucleus: replay prompt + sampled tokens through the model; each sampled token must be
  // one of the top-k at its position (up to float noise between chunked and one-pass prefill).
  const folder = readModelFolder(path);
  const prompt = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig).encode(
    buildPrompt(folder.template, r.question, r.answer),
  );
  assert.equal(prompt.length, a.usage.promptTokens);
  const backend = new FastBackend(await FastDecoder.open(folder, { executionProvider: 'cpu', threads: 1 }));
  const sampled = a.tokenIds ?? [];
  assert.ok(sampled.length > 0);
  const logits = await backend.extend(backend.createSlot(), [...prompt, ...sampled]);
  const vocab = backend.vocabSize;
  sampled.forEach((token, i) => {
    const row = logits.subarray((prompt.length - 1 + i) * vocab, (prompt.length + i) * vocab);
    const kth = [...row].sort((x, y) => y - x)[topK - 1]!;
    assert.ok(row[token]! >= kth - 1e-3, `token ${i} (${token}) is within the top ${topK}`);
  });
  await backend.close();
});

test('a batch whose draft width runs one row past the last position still decodes (padding positions are clamped)', async () => {
  const from = await testModel('llama', { maxPositions: 64 });
  const out = join(root, 'llama-64');
  await convertModel({ from, out, layout: 'fast', dtype: 'fp32' });
  const spec = readModelFolder(out);
  const backend = new FastBackend(await FastDecoder.open(spec, { executionProvider: 'cpu', threads: 1 }));
  const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => 16 + (((from + i) * 37) % 1000));
  const vocab = backend.vocabSize;
  const rowLogits = (logits: Float32Array, width: number, r: number, j: number) =>
    logits.slice((r * width + j) * vocab, (r * width + j + 1) * vocab);

  // Row A is two positions from the end (62 cached), row B is short; B verifies 2 drafts, so A is padded to 3.
  const a = backend.createSlot();
  await backend.extend(a, ids(62));
  const b = backend.createSlot();
  await backend.extend(b, ids(5, 100));
  backend.setBatch([a, b]);
  const both = await backend.decode([ids(3, 200), ids(3, 300)]);

  // The real positions give what each row gives alone.
  const a2 = backend.createSlot();
  await backend.extend(a2, ids(62));
  backend.setBatch([a2]);
  const aloneA = await backend.decode([ids(1, 200)]);
  const b2 = backend.createSlot();
  await backend.extend(b2, ids(5, 100));
  backend.setBatch([b2]);
  const aloneB = await backend.decode([ids(3, 300)]);
  const close = (x: Float32Array, y: Float32Array) => x.every((v, i) => Math.abs(v - y[i]!) < 1e-3);
  assert.ok(close(rowLogits(both, 3, 0, 0), rowLogits(aloneA, 1, 0, 0)), 'row A at position 62');
  for (let j = 0; j < 3; j++)
    assert.ok(close(rowLogits(both, 3, 1, j), rowLogits(aloneB, 3, 0, j)), `row B token ${j}`);
});
