// The `aligner` command line each job kind runs as a child process, built from its typed config.
import { join } from 'node:path';
import type { EvalJobConfig, ExportJobConfig, TrainJobConfig } from '../protocol/index.js';

export interface JobPaths {
  /** The job's own folder in the registry. */
  dir: string;
}

export function trainArgs(c: TrainJobConfig, paths: JobPaths, resume: boolean): string[] {
  const args = ['train', '--data', ...c.data, '--out', join(paths.dir, 'run')];
  if (c.val) args.push('--val', c.val);
  if (c.base) args.push('--base', c.base);
  else if (c.preset) args.push('--preset', c.preset);
  if (c.modelType) args.push('--model-type', c.modelType);
  if (c.maxSteps !== undefined) args.push('--max-steps', String(c.maxSteps));
  if (c.epochs !== undefined) args.push('--epochs', String(c.epochs));
  if (c.lr !== undefined) args.push('--lr', String(c.lr));
  if (c.batchSize !== undefined) args.push('--batch-size', String(c.batchSize));
  if (c.warmupIdentity !== undefined) args.push('--warmup-identity', String(c.warmupIdentity));
  if (c.saveEvery !== undefined) args.push('--save-every', String(c.saveEvery));
  if (c.seed !== undefined) args.push('--seed', String(c.seed));
  if (resume) args.push('--resume');
  return args;
}

/** `aligner export` (the converter): without a dtype the command's default, the shipped format, applies. */
export function exportArgs(c: ExportJobConfig, runDir: string, paths: JobPaths): string[] {
  const args = ['export', '--run', runDir, '--out', join(paths.dir, 'model'), '--progress-json'];
  if (c.dtype) args.push('--dtype', c.dtype);
  return args;
}

export function evalArgs(c: EvalJobConfig, modelDir: string, paths: JobPaths): string[] {
  const args = ['eval', '--model', modelDir, '--data', ...c.data, '--out', join(paths.dir, 'eval'), '--progress-json'];
  if (c.judges?.length) args.push('--judge', c.judges.join(','));
  if (c.limit !== undefined) args.push('--limit', String(c.limit));
  if (c.maxNewTokens !== undefined) args.push('--max-new-tokens', String(c.maxNewTokens));
  if (c.judgeEndpoint) args.push('--judge-endpoint', c.judgeEndpoint);
  if (c.judgeModel) args.push('--judge-model', c.judgeModel);
  if (c.judgeKeyEnv) args.push('--judge-key-env', c.judgeKeyEnv);
  if (c.upstreamEndpoint) args.push('--upstream-endpoint', c.upstreamEndpoint);
  if (c.upstreamModel) args.push('--upstream-model', c.upstreamModel);
  if (c.upstreamKeyEnv) args.push('--upstream-key-env', c.upstreamKeyEnv);
  if (c.alignerEndpoints) args.push('--aligner-endpoints');
  return args;
}
