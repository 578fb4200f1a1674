// What "Aligner: Evaluate…" asks for and the jobs/start request it makes (docs/eval.md).
// Pure (no vscode); the protocol's schema validates the result.
import { EvalJobConfigSchema, type EvalJobConfig, type JobsStartParams } from '../../server/protocol/index.js';

export const JUDGES = [
  {
    id: 'reference',
    description: 'closer to the reference correction than the answer was (chrF, Q-A-C rows)',
    picked: true,
  },
  { id: 'preference', description: "the model's likelihood of the reference vs the answer (Q-A-C rows)", picked: true },
  {
    id: 'harmlessness',
    description: 'refusal rules: did the correction refuse where the answer complied',
    picked: true,
  },
  { id: 'honesty', description: 'TruthfulQA: closer to correct than to incorrect answers', picked: true },
  { id: 'llm', description: 'an OpenAI-compatible LLM judge, both orders (needs an endpoint)', picked: false },
] as const;
export type JudgeId = (typeof JUDGES)[number]['id'];

export interface LlmJudge {
  endpoint: string;
  model: string;
  /** Name of the server's environment variable with the API key (the key itself never travels). */
  keyEnv?: string;
}

export interface EvalChoices {
  name?: string;
  /** A model folder, or an export job's id. */
  model: string;
  data: string[];
  judges: JudgeId[];
  limit?: number;
  llm?: LlmJudge;
}

export function evalConfig(c: EvalChoices): EvalJobConfig {
  if (c.judges.includes('llm') && !c.llm) throw new Error('the LLM judge needs an endpoint and a model');
  return EvalJobConfigSchema.parse({
    model: c.model,
    data: c.data,
    judges: c.judges,
    ...(c.limit !== undefined ? { limit: c.limit } : {}),
    ...(c.llm && c.judges.includes('llm')
      ? {
          judgeEndpoint: c.llm.endpoint,
          judgeModel: c.llm.model,
          ...(c.llm.keyEnv ? { judgeKeyEnv: c.llm.keyEnv } : {}),
        }
      : {}),
  });
}

export function evalParams(c: EvalChoices): JobsStartParams {
  return { kind: 'eval', ...(c.name ? { name: c.name } : {}), config: evalConfig(c) };
}

/** Checks an endpoint URL as typed; undefined when fine (an input box's validateInput). */
export function checkEndpoint(text: string): string | undefined {
  try {
    const u = new URL(text.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'use an http:// or https:// URL';
  } catch {
    return 'enter a URL, e.g. https://api.openai.com/v1';
  }
}

export function checkKeyEnv(text: string): string | undefined {
  return text.trim() === '' || /^[A-Z_][A-Z0-9_]{0,63}$/.test(text.trim())
    ? undefined
    : 'an environment variable name, e.g. OPENAI_API_KEY';
}
