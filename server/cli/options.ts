// Flag parsing shared by `correct` and `serve`: generation options and engine options.
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { ExecutionProviderSchema, GenerationOptionsSchema, TemplateNameSchema } from '../protocol/index.js';
import type { ExecutionProvider, GenerationOptions, TemplateName } from '../protocol/index.js';

export function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`"${value}" is not an integer`);
  return n;
}

export function floatArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`);
  return n;
}

/** A commander parser accepting one of `allowed`, with the list in the error. */
export function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!allowed.includes(value as T)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
    return value as T;
  };
}

export const epArg: (value: string) => ExecutionProvider = oneOf(ExecutionProviderSchema.options);
export const templateArg: (value: string) => TemplateName = oneOf(TemplateNameSchema.options);

export function addGenerationFlags(cmd: Command): Command {
  return cmd
    .option('--max-new-tokens <n>', 'most tokens to generate', intArg)
    .option('--temperature <t>', '0 = greedy (default), > 0 samples', floatArg)
    .option('--top-p <p>', 'nucleus sampling mass', floatArg)
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = off)', intArg)
    .option('--seed <n>', 'random seed for sampling', intArg)
    .option('--repetition-penalty <r>', 'Hugging Face style repetition penalty (1 = off)', floatArg)
    .option('--loop-guard <n>', 'ban n-grams repeated beyond their count in the prompt (0 = off)', intArg)
    .option('--stop <text...>', 'stop strings');
}

export interface GenerationFlags {
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  repetitionPenalty?: number;
  loopGuard?: number;
  stop?: string[];
}

/** Validates with the protocol's schema so the CLI and the server accept exactly the same values. */
export function generationFromFlags(flags: GenerationFlags): GenerationOptions {
  const picked = Object.fromEntries(
    (['maxNewTokens', 'temperature', 'topP', 'topK', 'seed', 'repetitionPenalty', 'loopGuard', 'stop'] as const)
      .filter((k) => flags[k] !== undefined)
      .map((k) => [k, flags[k]]),
  );
  const r = GenerationOptionsSchema.safeParse(picked);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InvalidArgumentError(
      `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: ${issue.message}`,
    );
  }
  return r.data;
}
