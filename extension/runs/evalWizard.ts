// "Aligner: Evaluate…": a model (an exported run, the current model or a folder), eval files, the
// judges, an optional LLM judge endpoint, a row limit, and a confirmation (see docs/eval.md).
import * as vscode from 'vscode';
import type { JobInfo } from '../../server/protocol/index.js';
import { fmtTime } from '../../webview/data/format.js';
import { JUDGES, checkEndpoint, checkKeyEnv, type EvalChoices, type JudgeId, type LlmJudge } from './evalConfig.js';
import { pickFolder, pickJsonlFiles } from './pickFiles.js';
import { parseNumber } from './trainConfig.js';

const TITLE = 'Aligner: Evaluate';

export async function askEvalModel(exports: JobInfo[], currentModel: string): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { model?: string; browse?: boolean };
  const items: Item[] = [
    ...exports
      .filter((j) => j.kind === 'export' && j.status === 'succeeded')
      .map((j) => ({
        label: `$(package) ${j.name}`,
        description: `exported ${fmtTime(j.endedAt)}`,
        detail: j.artifacts.modelDir,
        model: j.id,
      })),
    { label: '$(server) The current model', detail: currentModel, model: currentModel },
    { label: '$(folder-opened) A model folder…', browse: true },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: TITLE,
    placeHolder: 'Which model corrects the answers',
    ignoreFocusOut: true,
  });
  if (!pick) return undefined;
  return pick.model ?? (await pickFolder('Aligner: model folder to evaluate', 'Evaluate this model'));
}

async function askJudges(): Promise<JudgeId[] | undefined> {
  const picks = await vscode.window.showQuickPick(
    JUDGES.map((j) => ({ label: j.id, description: j.description, picked: j.picked, id: j.id })),
    {
      title: `${TITLE}: judges`,
      placeHolder: 'Judges to run (basic and speed measures always run)',
      canPickMany: true,
      ignoreFocusOut: true,
    },
  );
  return picks?.map((p) => p.id);
}

async function askLlmJudge(): Promise<LlmJudge | undefined> {
  const endpoint = await vscode.window.showInputBox({
    title: `${TITLE}: LLM judge`,
    prompt: 'OpenAI-compatible endpoint of the judge',
    placeHolder: 'https://api.openai.com/v1',
    ignoreFocusOut: true,
    validateInput: checkEndpoint,
  });
  if (!endpoint) return undefined;
  const model = await vscode.window.showInputBox({
    title: `${TITLE}: LLM judge`,
    prompt: 'The judge model',
    placeHolder: 'gpt-4o',
    ignoreFocusOut: true,
    validateInput: (t) => (t.trim() && t.length <= 200 ? undefined : 'a model name'),
  });
  if (!model) return undefined;
  const keyEnv = await vscode.window.showInputBox({
    title: `${TITLE}: LLM judge`,
    prompt:
      "Name of the environment variable with the judge's API key, as the server sees it (empty: no key). The key itself never leaves the server.",
    placeHolder: 'OPENAI_API_KEY',
    ignoreFocusOut: true,
    validateInput: checkKeyEnv,
  });
  if (keyEnv === undefined) return undefined;
  return { endpoint: endpoint.trim(), model: model.trim(), ...(keyEnv.trim() ? { keyEnv: keyEnv.trim() } : {}) };
}

/** undefined: cancelled; null: no limit. */
async function askLimit(): Promise<number | null | undefined> {
  const text = await vscode.window.showInputBox({
    title: TITLE,
    prompt: 'Evaluate at most this many rows of each file (empty: every row)',
    placeHolder: 'every row',
    ignoreFocusOut: true,
    validateInput: (t) => {
      if (!t.trim()) return undefined;
      const r = parseNumber(t, { min: 1, integer: true });
      return r.ok ? undefined : r.why;
    },
  });
  if (text === undefined) return undefined;
  if (!text.trim()) return null;
  const r = parseNumber(text, { min: 1, integer: true });
  return r.ok ? r.value : undefined;
}

export interface EvalWizardInput {
  /** Export jobs to offer as models. */
  exports: JobInfo[];
  currentModel: string;
  /** Skip the model step (the dashboard's "Evaluate…" on an export). */
  model?: string;
}

export async function evalWizard(input: EvalWizardInput): Promise<EvalChoices | undefined> {
  const model = input.model ?? (await askEvalModel(input.exports, input.currentModel));
  if (!model) return undefined;
  const data = await pickJsonlFiles({
    title: `${TITLE}: data`,
    placeHolder: 'JSONL rows: Q-A-C, upstream answers, TruthfulQA or prompts (docs/eval.md)',
    many: true,
  });
  if (!data?.length) return undefined;
  const judges = await askJudges();
  if (!judges?.length) return undefined;
  let llm: LlmJudge | undefined;
  if (judges.includes('llm')) {
    llm = await askLlmJudge();
    if (!llm) return undefined;
  }
  const limit = await askLimit();
  if (limit === undefined) return undefined;
  const exported = input.exports.find((j) => j.id === model);
  const choices: EvalChoices = { model, data, judges, ...(limit !== null ? { limit } : {}), ...(llm ? { llm } : {}) };
  const detail = [
    `Model: ${exported ? `${exported.name} (exported run)` : model}`,
    `Data: ${data.join(', ')}`,
    `Judges: ${judges.join(', ')}${llm ? ` (LLM judge ${llm.model} at ${llm.endpoint})` : ''}`,
    `Rows: ${limit === null ? 'all' : `at most ${limit} per file`}`,
  ].join('\n');
  const go = 'Start Evaluation';
  return (await vscode.window.showInformationMessage('Start this evaluation?', { modal: true, detail }, go)) === go
    ? choices
    : undefined;
}
