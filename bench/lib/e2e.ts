// One greedy correction through EngineHost (the real engine in its worker thread), timed from the host.
import { EngineHost } from '../../server/engine/host.js';
import { readModelFolder } from '../../server/engine/modelFolder.js';
import { buildPrompt } from '../../server/engine/templates.js';
import { TextTokenizer } from '../../server/engine/tokenizer.js';

export interface EndToEndResult {
  threads: number;
  promptTokens: number;
  completionTokens: number;
  finishReason: string;
  /** Host side: from correct() to the first streamed delta. */
  firstTokenMs: number;
  /** The engine's own figures (worker side). */
  engineFirstTokenMs: number | null;
  prefillMs: number;
  decodeMs: number;
  decodeTokensPerSecond: number;
  /** Host side: the whole correct() call. */
  totalMs: number;
}

export const QUESTION = 'How should a small web app store user passwords, and what should it avoid?';
const SENTENCE =
  'Passwords can be kept in the database as they are, because the server is private and nobody else can read it. ';

/** An answer long enough that the model's full prompt (template included) reaches `tokens` tokens. */
export function answerForPromptLength(modelDir: string, tokens: number): string {
  const spec = readModelFolder(modelDir);
  const tok = new TextTokenizer(spec.tokenizerJson, spec.tokenizerConfig);
  const words = SENTENCE.repeat(Math.ceil(tokens / 4))
    .trim()
    .split(' ');
  let lo = 1;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const n = tok.encode(buildPrompt(spec.template, QUESTION, words.slice(0, mid).join(' '))).length;
    if (n >= tokens) hi = mid;
    else lo = mid + 1;
  }
  return words.slice(0, lo).join(' ');
}

export async function endToEnd(modelDir: string, promptTokens: number, maxNewTokens: number): Promise<EndToEndResult> {
  const answer = answerForPromptLength(modelDir, promptTokens);
  const host = new EngineHost(); // default options, as the server runs it
  try {
    await host.loadModel({ path: modelDir });
    const input = { question: QUESTION, answer, generation: { maxNewTokens, temperature: 0 } };
    await host.correct({ ...input, requestId: 'warm-up', generation: { maxNewTokens: 4, temperature: 0 } });
    let firstAt: number | null = null;
    const t0 = performance.now();
    const r = await host.correct({ ...input, requestId: 'bench' }, { onDelta: () => (firstAt ??= performance.now()) });
    const totalMs = performance.now() - t0;
    return {
      threads: host.options.threads,
      promptTokens: r.usage.promptTokens,
      completionTokens: r.usage.completionTokens,
      finishReason: r.finishReason,
      firstTokenMs: (firstAt ?? NaN) - t0,
      engineFirstTokenMs: r.timings.firstTokenMs,
      prefillMs: r.timings.prefillMs,
      decodeMs: r.timings.decodeMs,
      decodeTokensPerSecond: r.timings.decodeTokensPerSecond,
      totalMs,
    };
  } finally {
    await host.close();
  }
}
