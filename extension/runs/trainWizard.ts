// "Aligner: Train Aligner…": data file(s), validation file, base model folder or a from-scratch
// preset, hyperparameters with the paper's defaults shown, a name, and a confirmation.
import * as vscode from 'vscode';
import { pickFolder, pickJsonlFiles } from './pickFiles.js';
import {
  PRESETS,
  RULES,
  defaultHyperparameters,
  defaultRunName,
  describeTrain,
  parseNumber,
  type Hyperparameters,
  type ModelChoice,
  type NumberRule,
  type PresetName,
  type TrainChoices,
} from './trainConfig.js';

const TITLE = 'Aligner: Train Aligner';

export async function askModel(title = TITLE): Promise<ModelChoice | undefined> {
  type Item = vscode.QuickPickItem & { model?: ModelChoice; browse?: boolean };
  const items: Item[] = [
    ...(Object.keys(PRESETS) as PresetName[]).map((preset) => ({
      label: preset,
      description: 'train from scratch',
      detail: PRESETS[preset].description,
      model: { kind: 'preset' as const, preset },
    })),
    {
      label: '$(folder-opened) Fine-tune a base model folder…',
      detail: 'A Hugging Face model folder (config.json + weights), e.g. a small chat model; the Aligner recipe',
      browse: true,
    },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'Which model to train',
    ignoreFocusOut: true,
  });
  if (!pick) return undefined;
  if (pick.model) return pick.model;
  const path = await pickFolder('Aligner: base model folder', 'Fine-tune this model');
  return path ? { kind: 'base', path } : undefined;
}

/** A number from an input box: undefined when cancelled, null when cleared (only with `emptyMeans`). */
async function askNumber(
  prompt: string,
  value: number | undefined,
  rule: NumberRule,
  emptyMeans?: string,
): Promise<number | null | undefined> {
  const check = (t: string) => {
    if (emptyMeans && t.trim() === '') return undefined;
    const r = parseNumber(t, rule);
    return r.ok ? undefined : r.why;
  };
  const text = await vscode.window.showInputBox({
    title: TITLE,
    prompt,
    placeHolder: emptyMeans,
    value: value === undefined ? '' : String(value),
    ignoreFocusOut: true,
    validateInput: check,
  });
  if (text === undefined) return undefined;
  if (text.trim() === '') return null;
  const r = parseNumber(text, rule);
  return r.ok ? r.value : undefined;
}

/** A menu of the hyperparameters with their values; pick one to change it, "Continue" to go on. */
export async function askHyperparameters(model: ModelChoice): Promise<Hyperparameters | undefined> {
  const d = defaultHyperparameters(model);
  const h: Hyperparameters = { ...d };
  const defaultNote = model.kind === 'preset' ? `preset ${model.preset}'s default` : "the paper's default";
  for (;;) {
    type Item = vscode.QuickPickItem & { key: keyof Hyperparameters | 'continue' };
    const mark = (v: number | undefined, def: number | undefined, note: string) => (v === def ? note : 'changed');
    const items: Item[] = [
      { key: 'continue', label: '$(check) Continue', description: 'with these settings' },
      { key: 'lr', label: `Learning rate: ${h.lr}`, description: mark(h.lr, d.lr, defaultNote) },
      {
        key: 'epochs',
        label: `Epochs: ${h.epochs}`,
        description:
          h.maxSteps !== undefined ? 'unused: max steps is set' : mark(h.epochs, d.epochs, "the paper's default"),
      },
      {
        key: 'maxSteps',
        label: `Max steps: ${h.maxSteps ?? 'none'}`,
        description: h.maxSteps === undefined ? 'epochs decide' : 'overrides epochs',
      },
      {
        key: 'warmupIdentity',
        label: `Identity warm-up: ${h.warmupIdentity}`,
        description: mark(h.warmupIdentity, d.warmupIdentity, "the paper's default: copy 20% of answers first"),
      },
      {
        key: 'batchSize',
        label: `Batch size: ${h.batchSize}`,
        description: mark(h.batchSize, d.batchSize, defaultNote),
      },
    ];
    const pick = await vscode.window.showQuickPick(items, {
      title: `${TITLE}: hyperparameters`,
      placeHolder: 'Pick a value to change it, or Continue',
      ignoreFocusOut: true,
    });
    if (!pick) return undefined;
    switch (pick.key) {
      case 'continue':
        return h;
      case 'lr':
        h.lr = (await askNumber('Peak learning rate', h.lr, RULES.lr)) ?? h.lr;
        break;
      case 'epochs':
        h.epochs = (await askNumber('Epochs over the data', h.epochs, RULES.epochs)) ?? h.epochs;
        break;
      case 'maxSteps': {
        const v = await askNumber(
          'Stop after this many optimizer steps (empty: train for the epochs)',
          h.maxSteps,
          RULES.maxSteps,
          'none',
        );
        if (v !== undefined) h.maxSteps = v ?? undefined;
        break;
      }
      case 'warmupIdentity':
        h.warmupIdentity =
          (await askNumber(
            'Share of the rows trained as identity (Q-A-A) first, 0 to 1',
            h.warmupIdentity,
            RULES.warmupIdentity,
          )) ?? h.warmupIdentity;
        break;
      case 'batchSize':
        h.batchSize =
          (await askNumber('Examples per optimizer step (per device)', h.batchSize, RULES.batchSize)) ?? h.batchSize;
        break;
    }
  }
}

export async function askName(model: ModelChoice): Promise<string | undefined> {
  const name = await vscode.window.showInputBox({
    title: TITLE,
    prompt: 'A name for this run (shown in Aligner: Show Runs)',
    value: defaultRunName(model),
    ignoreFocusOut: true,
    validateInput: (t) => (t.trim() && t.length <= 200 ? undefined : 'a name of 1 to 200 characters'),
  });
  return name?.trim() || undefined;
}

export async function confirmTrain(c: TrainChoices): Promise<boolean> {
  const go = 'Start Training';
  const answer = await vscode.window.showInformationMessage(
    'Start this training run?',
    { modal: true, detail: describeTrain(c).join('\n') },
    go,
  );
  return answer === go;
}

/** The whole wizard; undefined when the user cancels at any step. `data` skips the file step. */
export async function trainWizard(data?: string[]): Promise<TrainChoices | undefined> {
  const files =
    data ??
    (await pickJsonlFiles({
      title: `${TITLE}: training data`,
      placeHolder: 'Q-A-C JSONL rows: {"question", "answer", "correction"}',
      many: true,
    }));
  if (!files?.length) return undefined;
  const val = await pickJsonlFiles({
    title: `${TITLE}: validation data`,
    placeHolder: 'Rows for the validation loss (optional)',
    none: { label: 'No validation file', description: 'from 200 rows, 5% of the questions are held out automatically' },
  });
  if (val === undefined) return undefined;
  const model = await askModel();
  if (!model) return undefined;
  const hyper = await askHyperparameters(model);
  if (!hyper) return undefined;
  const name = await askName(model);
  if (!name) return undefined;
  const choices: TrainChoices = { name, data: files, ...(val[0] ? { val: val[0] } : {}), model, hyper };
  return (await confirmTrain(choices)) ? choices : undefined;
}
