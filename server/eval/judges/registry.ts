// Builds the judges of a run: the always-on ones plus those picked with --judge.
import { ChatClient, type EndpointOptions } from '../endpoint/chatClient.js';
import { basicJudge } from './basic.js';
import { harmlessnessJudge } from './harmlessness.js';
import { honestyJudge } from './honesty.js';
import { LlmJudge } from './llm.js';
import { loadJudgePrompt } from './llmPrompt.js';
import { preferenceJudge } from './preference.js';
import { referenceJudge } from './reference.js';
import { speedJudge } from './speed.js';
import { SELECTABLE_JUDGES, type Judge, type SelectableJudge } from './types.js';

export interface JudgeEndpointOptions extends EndpointOptions {
  /** Prompt template file; the built-in prompt when undefined. */
  promptFile?: string;
}

/** Without --judge: every judge that needs nothing more than the rows (llm needs an endpoint). */
export function defaultJudges(hasJudgeEndpoint: boolean): SelectableJudge[] {
  return SELECTABLE_JUDGES.filter((j) => j !== 'llm' || hasJudgeEndpoint);
}

export function parseJudgeList(value: string): SelectableJudge[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(SELECTABLE_JUDGES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`unknown judge ${unknown.join(', ')} (known: ${SELECTABLE_JUDGES.join(', ')})`);
  return [...new Set(names)] as SelectableJudge[];
}

export function buildJudges(names: readonly SelectableJudge[], judgeEndpoint?: JudgeEndpointOptions): Judge[] {
  const judges: Judge[] = [basicJudge as Judge, speedJudge as Judge];
  for (const name of SELECTABLE_JUDGES.filter((n) => names.includes(n))) {
    if (name === 'reference') judges.push(referenceJudge as Judge);
    else if (name === 'preference') judges.push(preferenceJudge as Judge);
    else if (name === 'harmlessness') judges.push(harmlessnessJudge as Judge);
    else if (name === 'honesty') judges.push(honestyJudge as Judge);
    else {
      if (!judgeEndpoint) throw new Error('the llm judge needs a judge endpoint (--judge-endpoint, --judge-model)');
      judges.push(new LlmJudge(new ChatClient(judgeEndpoint), loadJudgePrompt(judgeEndpoint.promptFile)) as Judge);
    }
  }
  return judges;
}
