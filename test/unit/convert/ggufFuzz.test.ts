// The fuzzed-header test: 1,000 GGUF files, each a valid small file with a few random byte flips in
// its header plus one corruption that makes it invalid for sure (truncated, wrong magic or version,
// a count / string length / array count / dimension / offset set huge, an unknown tensor or value
// type, too many dimensions, a bad alignment). Each must be refused with a GgufError of one line that
// names the file, quickly, and the reader must commit no more memory than the file's size.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { AllocationStats } from '../../../server/convert/gguf/boundedReader.js';
import { GgufError, GgufFile } from '../../../server/convert/gguf/ggufFile.js';
import { Rng } from '../../../server/util/rng.js';
import { buildGguf, m, quantize, QUANT_TYPES, type Field } from '../../helpers/ggufWriter.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-gguf-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CASES = 1000;

function baseFile() {
  const values = new Rng(1).fillNormal(new Float32Array(512), 0.1);
  const tokens = Array.from({ length: 60 }, (_, i) => (i < 3 ? `<|special${i}|>` : `tok${i}ĠĊ`));
  const tensor = (name: string, type: keyof typeof QUANT_TYPES, n: number) => ({
    name,
    dims: [n / 2, 2],
    typeId: QUANT_TYPES[type].id,
    data: quantize(type, values.subarray(0, n)),
  });
  return buildGguf({
    metadata: [
      ['general.architecture', m.str('llama')],
      ['general.alignment', m.u32(32)],
      ['llama.block_count', m.u32(1)],
      ['llama.rope.freq_base', m.f32(10000)],
      ['tokenizer.ggml.model', m.str('gpt2')],
      ['tokenizer.ggml.tokens', m.arr('string', tokens)],
      [
        'tokenizer.ggml.token_type',
        m.arr(
          'i32',
          tokens.map((_, i) => (i < 3 ? 3 : 1)),
        ),
      ],
      ['tokenizer.ggml.add_bos_token', m.bool(false)],
      ['nested', m.arr('array', [m.arr('u64', [1n, 2n]), m.arr('string', ['a', 'b'])])],
    ],
    tensors: [
      tensor('f32', 'F32', 64),
      tensor('f16', 'F16', 64),
      tensor('q8', 'Q8_0', 128),
      tensor('q4k', 'Q4_K', 512),
      tensor('q6k', 'Q6_K', 512),
      tensor('bf16', 'BF16', 64),
    ],
  });
}

const HUGE = [2n ** 64n - 1n, 2n ** 63n, 2n ** 63n - 1n, 2n ** 53n + 1n, 2n ** 40n, 2n ** 32n + 7n];

type Mutation = (b: Buffer, fields: Field[], rng: Rng) => Buffer;
const pick = <T>(rng: Rng, xs: T[]): T => xs[rng.int(xs.length)];
const fieldsOf = (fields: Field[], kind: Field['kind']) => fields.filter((f) => f.kind === kind);
const setField = (b: Buffer, f: Field, v: bigint) =>
  f.bytes === 8 ? b.writeBigUInt64LE(v & (2n ** 64n - 1n), f.at) : b.writeUInt32LE(Number(v & 0xffffffffn), f.at);

/** Each makes the file invalid whatever else holds. */
const MUTATIONS: Record<string, Mutation> = {
  truncate: (b, _, rng) => b.subarray(0, rng.int(b.length)),
  magic: (b, _, rng) => (b.writeUInt32LE((0x46554747 + 1 + rng.int(0xfffffff0)) >>> 0, 0), b),
  version: (b, _, rng) => (b.writeUInt32LE(pick(rng, [0, 1, 4, 0x03000000, 0xffffffff, 4 + rng.int(1e6)]), 4), b),
  // a tensor / metadata count, a string length or an array count: at least the whole file
  hugeCount: (b, fields, rng) => (
    setField(b, pick(rng, fieldsOf(fields, 'count')), BigInt(b.length) + BigInt(rng.int(1e6))),
    b
  ),
  hugeLength: (b, fields, rng) => (
    setField(b, pick(rng, fieldsOf(fields, 'length')), pick(rng, [...HUGE, BigInt(b.length)])),
    b
  ),
  hugeCountValue: (b, fields, rng) => (setField(b, pick(rng, fieldsOf(fields, 'count')), pick(rng, HUGE)), b),
  hugeDim: (b, fields, rng) => (
    setField(b, pick(rng, fieldsOf(fields, 'dim')), pick(rng, [...HUGE, 2n ** 30n * 256n])),
    b
  ),
  offsetPastEnd: (b, fields, rng) => (
    setField(b, pick(rng, fieldsOf(fields, 'offset')), BigInt(b.length) + BigInt(32 * rng.int(1e4))),
    b
  ),
  offsetHuge: (b, fields, rng) => (setField(b, pick(rng, fieldsOf(fields, 'offset')), pick(rng, HUGE)), b),
  offsetMisaligned: (b, fields, rng) => {
    const f = pick(rng, fieldsOf(fields, 'offset'));
    return (setField(b, f, b.readBigUInt64LE(f.at) + BigInt(1 + rng.int(31))), b);
  },
  tensorType: (b, fields, rng) => (
    setField(
      b,
      pick(rng, fieldsOf(fields, 'tensorType')),
      BigInt(pick(rng, [4, 5, 31, 32, 33, 36, 37, 38, 42 + rng.int(1e9)])),
    ),
    b
  ),
  valueType: (b, fields, rng) => (setField(b, pick(rng, fieldsOf(fields, 'valueType')), BigInt(13 + rng.int(1e9))), b),
  nDims: (b, fields, rng) => (setField(b, pick(rng, fieldsOf(fields, 'nDims')), BigInt(5 + rng.int(1e9))), b),
  alignment: (b) => {
    const at = b.indexOf('general.alignment') + 'general.alignment'.length + 4;
    return (b.writeUInt32LE(pick(new Rng(at), [0, 3, 48, 0xffffffff]), at), b);
  },
};

it(`refuses ${CASES} mutated GGUF headers cleanly, within the file's size`, () => {
  const base = baseFile();
  const kinds = Object.keys(MUTATIONS);
  const path = join(root, 'fuzzed.gguf');
  const refusedBy = new Map<string, number>();
  let worstClaim = 0;
  let slowest = 0;
  const memBefore = process.memoryUsage();
  let peakArrayBuffers = memBefore.arrayBuffers;
  const t0 = performance.now();
  // a valid file first: the base parses, so refusals below are the mutations' doing
  writeFileSync(path, base.bytes);
  GgufFile.open(path).close();
  for (let i = 0; i < CASES; i++) {
    const rng = new Rng(1000 + i);
    const kind = kinds[i % kinds.length];
    let bytes: Buffer = Buffer.from(base.bytes);
    for (let flips = rng.int(4); flips > 0; flips--) bytes[rng.int(base.dataStart)] ^= 1 + rng.int(255);
    bytes = MUTATIONS[kind](bytes, base.fields, rng);
    writeFileSync(path, bytes);

    const stats: AllocationStats = { claimedBytes: 0, largestClaim: 0 };
    const start = performance.now();
    let error: unknown;
    try {
      GgufFile.open(path, { stats }).close();
    } catch (err) {
      error = err;
    }
    slowest = Math.max(slowest, performance.now() - start);
    const what = `case ${i} (${kind}, ${bytes.length} bytes)`;
    assert.ok(
      error instanceof GgufError,
      `${what}: ${error === undefined ? 'accepted' : String((error as Error).stack)}`,
    );
    assert.ok(error.message.startsWith(`${path}: `), `${what}: ${error.message}`);
    assert.ok(!/[\u0000-\u001f]/.test(error.message), `${what}: one printable line: ${JSON.stringify(error.message)}`);
    assert.ok(stats.claimedBytes <= bytes.length, `${what}: claimed ${stats.claimedBytes} bytes`);
    worstClaim = Math.max(worstClaim, stats.largestClaim / Math.max(1, bytes.length));
    const reason = error.message
      .slice(path.length + 2)
      .replace(/\d+/g, 'N')
      .replace(/tensor [^:\s]+:/, 'tensor X:');
    refusedBy.set(reason, (refusedBy.get(reason) ?? 0) + 1);
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
  }
  const seconds = (performance.now() - t0) / 1000;
  const growthMiB = (peakArrayBuffers - memBefore.arrayBuffers) / 2 ** 20;
  const reasons = [...refusedBy.entries()].sort((a, b) => b[1] - a[1]);
  console.log(
    `${CASES} refused in ${seconds.toFixed(1)} s (slowest ${slowest.toFixed(1)} ms); largest allocation ` +
      `${(worstClaim * 100).toFixed(0)}% of its file; array-buffer growth ${growthMiB.toFixed(1)} MiB; ` +
      `${reasons.length} distinct reasons, most common:\n  ${reasons
        .slice(0, 8)
        .map(([r, n]) => `${n} x ${r}`)
        .join('\n  ')}`,
  );
  assert.ok(worstClaim <= 1, 'no allocation larger than the file');
  assert.ok(growthMiB < 64, `array buffers grew by ${growthMiB} MiB`);
  assert.ok(slowest < 2000, `one file took ${slowest} ms`);
});
