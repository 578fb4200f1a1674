// Public entry of the evaluation harness (`aligner eval`, and the server's job manager in-process).
export { runEvaluation } from './runEvaluation.js';
export type { EvalCallbacks, EvalOptions, EvalResult } from './runEvaluation.js';
export type { EvalProgress } from './progress.js';
export type { EvalSummary } from './summary/types.js';
export type { GroupSummary, Groups } from './summary/summarize.js';
export type { EvalRow, RowKind, RowRecord, Correction } from './types.js';
export type { Judge, JudgeContext, JudgeSummary, SelectableJudge } from './judges/types.js';
export { SELECTABLE_JUDGES } from './judges/types.js';
export { buildJudges, defaultJudges, parseJudgeList } from './judges/registry.js';
export type { EndpointOptions } from './endpoint/chatClient.js';
export type { JudgeEndpointOptions } from './judges/registry.js';
export { chrF } from './metrics/chrf.js';
export { rougeL } from './metrics/rougeL.js';
export { BOOTSTRAP_RESAMPLES, bootstrapMean } from './metrics/bootstrap.js';
export type { Stat } from './metrics/bootstrap.js';
