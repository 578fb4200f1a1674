// The real GGUF (SmolLM2-135M-Instruct Q4_1, from scripts/fetch-smollm2.sh) against transformers' own
// GGUF loading (test/helpers/gguf_reference.py, in the trainer's .venv): `aligner convert --to hf`
// writes transformers' dequantized tensors bit for bit; the tokenizer gives transformers' ids; and
// `aligner convert --dtype fp32` then greedy generation through the engine gives transformers' prompt
// token counts and generated tokens, on prompts with unicode, code and whitespace. Runs only where the
// GGUF has been fetched (ALIGNER_SMOLLM2_GGUF, or runs/default-data/gguf/) and .venv exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineHost } from '../../../server/engine/host.js';
import { buildPrompt, templateTail } from '../../../server/engine/templates.js';
import { TextTokenizer } from '../../../server/engine/tokenizer.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const GGUF =
  process.env.ALIGNER_SMOLLM2_GGUF ?? join(ROOT, 'runs', 'default-data', 'gguf', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const skip = !existsSync(GGUF)
  ? `no GGUF at ${GGUF}: fetch it with scripts/fetch-smollm2.sh runs/default-data/gguf (or set ALIGNER_SMOLLM2_GGUF)`
  : !existsSync(PYTHON)
    ? 'no .venv: run scripts/setup-python.sh'
    : false;
if (skip) console.log(`# skipping the GGUF parity test: ${skip}`);

const MAX_NEW_TOKENS = 40;
const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'naïve café, Ünïcödé — “quotes” and ‘apostrophes’ … 東京タワー 🌍🚀 عربى Ελληνικά',
  'def fib(n):\n    """Fibonacci."""\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n',
  'const x = { a: [1, 2, 3], "b": null }; // comment\n\tif (x?.a) { console.log(`${x.a}`) }',
  '   leading spaces, trailing spaces   \n\n\n\ttabs\t\tand\r\nCRLF  ',
  '<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n',
  'emoji zwj 👩‍💻 and combining e\u0301 and NBSP\u00a0here',
  'Numbers: 2024-12-05, 3.14159, 1,000,000 and ١٢٣ (Arabic-Indic).',
  'Total:  42 items,\n    7 left',
];
const PROMPTS = [
  {
    question: 'Qu’est-ce que la « photosynthèse » ? Réponds brièvement, s’il te plaît.',
    answer: 'La photosynthèse 🌱 transforme la lumière en énergie chimique ; les plantes l’utilisent — 植物も。',
  },
  {
    question: 'Why does this Python function fail?',
    answer: 'def mean(xs):\n    return sum(xs) / len(xs)\n\nprint(mean([]))  # ZeroDivisionError\n',
  },
  {
    question: '  Indented   question?\t',
    answer: 'Line one.\n\n\n    Line two with\ttabs   and  spaces.\r\nEnd.  ',
  },
  { question: 'What is 17 × 23?', answer: '17 × 23 = 391, and 2024-12-05 is a date.' },
];
const hasDigits = (s: string) => /\p{N}/u.test(s);

interface Ids {
  hf: number[];
  hf_file_pre: number[];
  ours_py: number[];
}
interface Reference {
  pre: string;
  texts: Ids[];
  prompts: Array<Ids & { generated: number[] }>;
  weights: { compared: number; differing: string[] };
}

const cli = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });

describe('SmolLM2 GGUF: parity with transformers', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-gguf-parity-'));
  const hfDir = join(dir, 'hf');
  const modelDir = join(dir, 'fp32');
  let ref: Reference;
  let tok: TextTokenizer;
  let eos: number;
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(() => {
    for (const args of [
      ['convert', '--from', GGUF, '--to', 'hf', '--out', hfDir],
      ['convert', '--from', GGUF, '--out', modelDir, '--dtype', 'fp32'],
    ]) {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
      console.log(`# aligner ${args[0]} ${args.includes('hf') ? '--to hf' : '--dtype fp32'}: ${r.stdout.trim()}`);
    }
    const prompts = PROMPTS.map((p) => buildPrompt('correction', p.question, p.answer));
    const request = { gguf: GGUF, hf_dir: hfDir, texts: TEXTS, prompts, max_new_tokens: MAX_NEW_TOKENS };
    writeFileSync(join(dir, 'request.json'), JSON.stringify(request));
    const t0 = performance.now();
    const py = spawnSync(
      PYTHON,
      [join(ROOT, 'test', 'helpers', 'gguf_reference.py'), join(dir, 'request.json'), join(dir, 'ref.json')],
      {
        encoding: 'utf8',
        timeout: 900_000,
        env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', TOKENIZERS_PARALLELISM: 'false' },
      },
    );
    assert.equal(py.status, 0, py.stderr);
    console.log(`# transformers reference: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    ref = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8'));
    const read = (f: string) => JSON.parse(readFileSync(join(modelDir, f), 'utf8'));
    tok = new TextTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
    eos = read('config.json').eos_token_id;
  });

  it('--to hf holds transformers’ dequantized tensors, bit for bit', () => {
    assert.equal(ref.weights.compared, 272);
    assert.deepEqual(ref.weights.differing, []);
  });

  it('tokenizes as transformers does (and, on digits, as the file’s pre-tokenizer says)', () => {
    const differ: string[] = [];
    TEXTS.forEach((text, i) => {
      const ours = tok.encode(text);
      const r = ref.texts[i];
      assert.deepEqual(ours, r.ours_py, `engine vs tokenizers on our tokenizer.json: ${JSON.stringify(text)}`);
      assert.deepEqual(
        ours,
        r.hf_file_pre,
        `vs transformers with the "${ref.pre}" digit split: ${JSON.stringify(text)}`,
      );
      if (!hasDigits(text)) assert.deepEqual(ours, r.hf, `vs transformers: ${JSON.stringify(text)}`);
      else if (JSON.stringify(ours) !== JSON.stringify(r.hf)) differ.push(JSON.stringify(text));
      assert.equal(tok.decode(tok.encodePlain(text)), text.replace(/<\|im_(start|end)\|>/g, ''), 'round trip');
    });
    // SmolLM2's merges never join an ASCII digit to anything, so the split only shows where a whitespace
    // run precedes a number ("  42": GPT-2's regex leaves a lone space before the digit, the split keeps
    // "ĠĠ" whole) or a number is written in multi-byte digits (١٢٣)
    console.log(
      `# ${TEXTS.length - differ.length} of ${TEXTS.length} texts give transformers' ids exactly; ` +
        `differing by the "${ref.pre}" digit split only: ${differ.join(', ') || 'none'}`,
    );
  });

  /**
   * transformers' greedy tokens as the engine ends them: without EOS, and up to the token that completes the
   * template's tail, where the engine ends a correction (correctionStops) and transformers runs on.
   */
  const engineEnd = (generated: number[]): number[] => {
    const ids = generated.at(-1) === eos ? generated.slice(0, -1) : generated;
    const tail = templateTail('correction');
    const n = ids.findIndex((_, i) => tok.decode(ids.slice(0, i + 1)).includes(tail));
    return n === -1 ? ids : ids.slice(0, n + 1);
  };

  it('greedy generation through the engine equals transformers, token for token', async () => {
    const host = new EngineHost({ threads: 2, maxBatch: 1 });
    try {
      await host.loadModel({ path: modelDir });
      for (const [i, p] of PROMPTS.entries()) {
        const r = ref.prompts[i];
        const want = engineEnd(r.generated);
        const got = await host.correct({
          requestId: `parity-${i}`,
          ...p,
          template: 'correction',
          generation: { maxNewTokens: MAX_NEW_TOKENS, temperature: 0 },
        });
        assert.equal(got.usage.promptTokens, r.hf_file_pre.length, `prompt ${i}: prompt tokens`);
        if (!hasDigits(p.question + p.answer)) assert.equal(got.usage.promptTokens, r.hf.length);
        assert.deepEqual(got.tokenIds, want, `prompt ${i}: generated tokens`);
        console.log(`# prompt ${i}: ${got.usage.promptTokens} prompt tokens, ${want.length} generated tokens equal`);
      }
    } finally {
      await host.close();
    }
    // and through the CLI, as a user runs it
    const p = PROMPTS[1];
    const r = cli([
      'correct',
      '--model',
      modelDir,
      '--question',
      p.question,
      '--answer',
      p.answer,
      '--json',
      '--max-new-tokens',
      String(MAX_NEW_TOKENS),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(json.tokenIds, engineEnd(ref.prompts[1].generated));
    assert.equal(json.usage.promptTokens, ref.prompts[1].hf.length);
  });
});
