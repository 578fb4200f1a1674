// What "Aligner: Train Aligner…" asks for, its defaults, and the jobs/start request it makes.
// Pure (no vscode): the wizard shows these values, the tests check them, the protocol's schema
// validates the result so the extension never sends a config the server would refuse.
import { TrainJobConfigSchema, type JobsStartParams, type TrainJobConfig } from '../../server/protocol/index.js';
import recipe from '../../server/trainer/aligner_trainer/recipe.json' with { type: 'json' };

/**
 * The from-scratch presets and the paper's recipe come from the trainer's own recipe.json
 * (server/trainer/aligner_trainer/recipe.json), so the wizard's defaults are what the trainer uses.
 */
export type PresetName = keyof typeof recipe.presets;

/** From-scratch sizes: each has its own lr and batch. */
export const PRESETS: Record<PresetName, { description: string; lr: number; batchSize: number }> = Object.fromEntries(
  Object.entries(recipe.presets).map(([name, p]) => [
    name,
    { description: p.description, lr: p.lr, batchSize: p.batch_size },
  ]),
) as Record<PresetName, { description: string; lr: number; batchSize: number }>;

/** The Aligner paper's recipe (Ji et al., 2024) for fine-tuning a pretrained model. */
export const PAPER = {
  lr: recipe.paper.lr,
  epochs: recipe.paper.epochs,
  warmupIdentity: recipe.paper.warmup_identity,
  batchSize: recipe.paper.batch_size,
} as const;

export type ModelChoice = { kind: 'preset'; preset: PresetName } | { kind: 'base'; path: string };

export interface Hyperparameters {
  lr: number;
  /** Used when maxSteps is not set. */
  epochs: number;
  maxSteps?: number;
  warmupIdentity: number;
  batchSize: number;
}

export interface TrainChoices {
  name: string;
  data: string[];
  val?: string;
  model: ModelChoice;
  hyper: Hyperparameters;
}

export function defaultHyperparameters(model: ModelChoice): Hyperparameters {
  const p = model.kind === 'preset' ? PRESETS[model.preset] : PAPER;
  return { lr: p.lr, epochs: PAPER.epochs, warmupIdentity: PAPER.warmupIdentity, batchSize: p.batchSize };
}

/** Checkpoints (and validation loss) about five times per run, so a short run still shows eval points. */
export function autoSaveEvery(maxSteps: number | undefined): number | undefined {
  return maxSteps === undefined ? undefined : Math.min(500, Math.max(1, Math.ceil(maxSteps / 5)));
}

export function trainConfig(c: TrainChoices): TrainJobConfig {
  const h = c.hyper;
  const config: TrainJobConfig = {
    data: c.data,
    ...(c.val ? { val: c.val } : {}),
    ...(c.model.kind === 'preset' ? { preset: c.model.preset } : { base: c.model.path }),
    lr: h.lr,
    ...(h.maxSteps !== undefined
      ? { maxSteps: h.maxSteps, saveEvery: autoSaveEvery(h.maxSteps) }
      : { epochs: h.epochs }),
    warmupIdentity: h.warmupIdentity,
    batchSize: h.batchSize,
  };
  return TrainJobConfigSchema.parse(config);
}

export function trainParams(c: TrainChoices): JobsStartParams {
  return { kind: 'train', name: c.name, config: trainConfig(c) };
}

const base = (p: string) => p.split(/[\\/]/).filter(Boolean).pop() ?? p;

export function modelLabel(m: ModelChoice): string {
  return m.kind === 'preset' ? `from scratch, preset ${m.preset}` : `fine-tune ${base(m.path)}`;
}

/** The confirmation's lines: everything the job will run with. */
export function describeTrain(c: TrainChoices): string[] {
  const h = c.hyper;
  const d = defaultHyperparameters(c.model);
  const mark = (v: number, def: number) => (v === def ? ' (default)' : '');
  return [
    `Name: ${c.name}`,
    `Data: ${c.data.map(base).join(', ')}`,
    `Validation: ${c.val ? base(c.val) : 'none (split off automatically from 200 rows)'}`,
    `Model: ${modelLabel(c.model)}`,
    `Learning rate: ${h.lr}${mark(h.lr, d.lr)}`,
    h.maxSteps !== undefined
      ? `Length: ${h.maxSteps} steps (checkpoint and validation every ${autoSaveEvery(h.maxSteps)})`
      : `Length: ${h.epochs} epochs${mark(h.epochs, d.epochs)}`,
    `Identity warm-up: ${h.warmupIdentity}${mark(h.warmupIdentity, d.warmupIdentity)} of the rows as Q-A-A first`,
    `Batch size: ${h.batchSize}${mark(h.batchSize, d.batchSize)}`,
  ];
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** Strictly greater than min. */
  exclusiveMin?: boolean;
  integer?: boolean;
}

/** Parses an input box's text ("2e-5", "3", "0.2"); returns the number or why it is not valid. */
export function parseNumber(text: string, rule: NumberRule): { ok: true; value: number } | { ok: false; why: string } {
  const t = text.trim();
  if (!/^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t))
    return { ok: false, why: 'enter a number, e.g. 3, 0.2 or 2e-5' };
  const value = Number(t);
  if (rule.integer && !Number.isInteger(value)) return { ok: false, why: 'enter a whole number' };
  if (rule.min !== undefined && (rule.exclusiveMin ? value <= rule.min : value < rule.min))
    return { ok: false, why: `must be ${rule.exclusiveMin ? 'more than' : 'at least'} ${rule.min}` };
  if (rule.max !== undefined && value > rule.max) return { ok: false, why: `must be at most ${rule.max}` };
  return { ok: true, value };
}

/** The input rules, from the protocol's limits. */
export const RULES = {
  lr: { min: 0, exclusiveMin: true, max: 1 },
  epochs: { min: 0, exclusiveMin: true, max: 1000 },
  maxSteps: { min: 1, max: 10_000_000, integer: true },
  warmupIdentity: { min: 0, max: 1 },
  batchSize: { min: 1, max: 4096, integer: true },
} satisfies Record<string, NumberRule>;

/** A default run name: the model and the time, e.g. "tiny-20261127-0915". */
export function defaultRunName(m: ModelChoice, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}`;
  const what = m.kind === 'preset' ? m.preset : base(m.path);
  return `${what}-${stamp}`.slice(0, 200);
}
