// Timed greedy corrections through EngineHost (the engine in its worker thread, as the server runs it).
import type { CorrectionInput } from '../../server/engine/api.js';
import { EngineHost } from '../../server/engine/host.js';
import type { EngineHostOptions } from '../../server/engine/host.js';
import { readModelFolder } from '../../server/engine/modelFolder.js';
import { buildPrompt } from '../../server/engine/templates.js';
import { TextTokenizer } from '../../server/engine/tokenizer.js';
import { QUESTION, answerForPromptLength } from './e2e.js';

export interface CorrectionRun {
  tokenIds: number[];
  promptTokens: number;
  finishReason: string;
  /** Host side: from correct() to the first streamed delta. */
  firstTokenMs: number;
  /** Host side: the whole correct() call. */
  totalMs: number;
  /** The engine's own timings. */
  prefillMs: number;
  decodeMs: number;
  draftTokens: number;
  acceptedDraftTokens: number;
}

export interface PromptCase {
  question: string;
  answer: string;
  /** The full prompt text (template applied) and its ids, as the engine tokenizes it. */
  prompt: string;
  promptIds: number[];
}

/** A question and answer whose full prompt is `tokens` tokens long (the same text bench:engine uses). */
export function promptCase(modelDir: string, tokens: number): PromptCase {
  return promptFor(modelDir, QUESTION, answerForPromptLength(modelDir, tokens));
}

export function promptFor(modelDir: string, question: string, answer: string): PromptCase {
  const spec = readModelFolder(modelDir);
  const prompt = buildPrompt(spec.template, question, answer);
  const promptIds = new TextTokenizer(spec.tokenizerJson, spec.tokenizerConfig).encode(prompt);
  return { question, answer, prompt, promptIds };
}

let nextId = 1;

/** One greedy correction of at most `maxNewTokens` tokens. */
export async function timedCorrect(
  host: EngineHost,
  c: Pick<PromptCase, 'question' | 'answer'>,
  maxNewTokens: number,
): Promise<CorrectionRun> {
  const input: CorrectionInput = {
    requestId: `bench-${nextId++}`,
    question: c.question,
    answer: c.answer,
    generation: { maxNewTokens, temperature: 0 },
  };
  let firstAt: number | null = null;
  const t0 = performance.now();
  const r = await host.correct(input, { onDelta: () => (firstAt ??= performance.now()) });
  const totalMs = performance.now() - t0;
  return {
    tokenIds: r.tokenIds ?? [],
    promptTokens: r.usage.promptTokens,
    finishReason: r.finishReason,
    firstTokenMs: (firstAt ?? NaN) - t0,
    totalMs,
    prefillMs: r.timings.prefillMs,
    decodeMs: r.timings.decodeMs,
    draftTokens: r.timings.draftTokens ?? 0,
    acceptedDraftTokens: r.timings.acceptedDraftTokens ?? 0,
  };
}

/** An EngineHost with `dir` loaded and warmed up by one 4-token correction. */
export async function openHost(dir: string, opts: EngineHostOptions): Promise<{ host: EngineHost; loadMs: number }> {
  const t0 = performance.now();
  const host = new EngineHost(opts);
  await host.loadModel({ path: dir });
  const loadMs = performance.now() - t0;
  await timedCorrect(host, { question: 'Warm-up?', answer: 'Warm-up.' }, 4);
  return { host, loadMs };
}

/** Positions where two greedy token sequences agree before they first differ, and their lengths. */
export function agreement(a: number[], b: number[]): { same: number; of: number } {
  let same = 0;
  while (same < Math.min(a.length, b.length) && a[same] === b[same]) same++;
  return { same, of: Math.max(a.length, b.length) };
}
