// The training, evaluation and dashboard commands: Train Aligner…, Evaluate…, Export Run…, Show
// Runs, Train from My Reviews. Each started job gets a progress notification and appears in the
// dashboard if it is open.
import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { JobInfo, JobsStartParams } from '../../server/protocol/index.js';
import { outcomeText } from '../../webview/data/progress.js';
import { MIN_REVIEW_ROWS } from '../learning/reviewRows.js';
import { reviewRowCount } from '../learning/reviewLog.js';
import type { Logger } from '../serverProcess.js';
import { evalParams } from './evalConfig.js';
import { evalWizard } from './evalWizard.js';
import type { JobHub } from './jobHub.js';
import { trackJob } from './jobProgress.js';
import { RunsPanel, type RunsPanelDeps } from './runsPanel.js';
import { trainParams } from './trainConfig.js';
import { askHyperparameters, askModel, askName, confirmTrain, trainWizard } from './trainWizard.js';

export interface RunCommandDeps {
  hub: JobHub;
  extensionUri: vscode.Uri;
  log: Logger & { show(): void };
  /** The model folder corrections use now (for "Evaluate… the current model"). */
  currentModel(): string;
  /** <globalStorage>/reviews.jsonl */
  reviewsFile: string;
  recordReviewsEnabled(): boolean;
}

const KIND = { train: 'Training', export: 'Export', eval: 'Evaluation' } as const;

function showError(deps: RunCommandDeps, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  void vscode.window.showErrorMessage(`Aligner: ${message}`, 'Show Log').then((pick) => pick && deps.log.show());
}

export function registerRunCommands(deps: RunCommandDeps): vscode.Disposable[] {
  const { hub } = deps;
  const panelDeps: RunsPanelDeps = {
    extensionUri: deps.extensionUri,
    hub,
    log: deps.log,
    exportRun: (id) => exportRun(id),
    evaluate: (id) => evaluate(id),
    track: (job) => void trackJob(hub, job).then((final) => announce(final)),
  };
  const showRuns = (jobId?: string) => RunsPanel.show(panelDeps, jobId);

  /** Starts a job, shows its progress, and says how it ended. */
  async function start(params: JobsStartParams): Promise<JobInfo> {
    const conn = await hub.connection();
    const job = await conn.startJob(params);
    deps.log.info(`started ${job.kind} job ${job.id} (${job.name})`);
    RunsPanel.open?.select(job.id);
    void trackJob(hub, job).then((final) => announce(final));
    return job;
  }

  async function announce(job: JobInfo): Promise<void> {
    const what = `${KIND[job.kind]} “${job.name}”`;
    const actions: string[] = [];
    if (job.status === 'succeeded' && job.kind === 'train') actions.push('Export');
    if (job.status === 'succeeded' && job.kind === 'export') actions.push('Evaluate…');
    actions.push('Show Runs');
    const loaded =
      job.kind === 'export' && job.artifacts.loadOnSuccess === 'true' ? ' and loaded: it corrects from now on' : '';
    const pick =
      job.status === 'succeeded'
        ? await vscode.window.showInformationMessage(`Aligner: ${what} finished${loaded}.`, ...actions)
        : job.status === 'failed'
          ? await vscode.window.showErrorMessage(`Aligner: ${what} ${outcomeText(job)}`, ...actions)
          : await vscode.window.showWarningMessage(`Aligner: ${what} ${outcomeText(job)}.`, ...actions);
    if (pick === 'Export') await exportRun(job.id);
    else if (pick === 'Evaluate…') await evaluate(job.id);
    else if (pick === 'Show Runs') showRuns(job.id);
  }

  async function exportRun(trainJobId?: string): Promise<void> {
    const conn = await hub.connection();
    const jobs = await conn.listJobs();
    let train = jobs.find((j) => j.id === trainJobId);
    if (!train) {
      const finished = jobs.filter((j) => j.kind === 'train' && j.status === 'succeeded').reverse();
      if (finished.length === 0) {
        void vscode.window.showInformationMessage('Aligner: there is no finished training run to export yet.');
        return;
      }
      const pick = await vscode.window.showQuickPick(
        finished.map((j) => ({ label: j.name, description: j.id, job: j })),
        {
          title: 'Aligner: Export Run',
          placeHolder: 'The training run to export as a model (loaded into the server when done)',
        },
      );
      if (!pick) return;
      train = pick.job;
    }
    await start({ kind: 'export', name: `${train.name}-model`, config: { run: train.id }, loadOnSuccess: true });
  }

  async function evaluate(exportJobId?: string): Promise<void> {
    const jobs = await (await hub.connection()).listJobs();
    const choices = await evalWizard({
      exports: [...jobs].reverse(),
      currentModel: deps.currentModel(),
      model: exportJobId,
    });
    if (!choices) return;
    const exported = jobs.find((j) => j.id === choices.model);
    await start(evalParams({ ...choices, name: `eval-${exported?.name ?? basename(choices.model)}` }));
  }

  async function trainFromReviews(): Promise<void> {
    const rows = await reviewRowCount(deps.reviewsFile);
    if (rows < MIN_REVIEW_ROWS) {
      const hint = deps.recordReviewsEnabled()
        ? 'Keep reviewing corrections: each finished review adds one.'
        : 'Turn on the setting "aligner.learning.recordReviews" to record your reviews.';
      void vscode.window.showWarningMessage(
        `Aligner: ${rows} reviewed correction${rows === 1 ? ' is' : 's are'} recorded; training needs at least ${MIN_REVIEW_ROWS}. ${hint}`,
      );
      return;
    }
    const model = await askModel(`Aligner: Train from My Reviews (${rows} rows)`);
    if (!model) return;
    const hyper = await askHyperparameters(model);
    if (!hyper) return;
    const name = await askName(model);
    if (!name) return;
    const choices = { name, data: [deps.reviewsFile], model, hyper };
    if (await confirmTrain(choices)) await start(trainParams(choices));
  }

  const command = (id: string, fn: (...args: unknown[]) => Promise<unknown> | unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await fn(...args);
      } catch (err) {
        showError(deps, err);
      }
    });

  return [
    command('aligner.train', async () => {
      const choices = await trainWizard();
      if (choices) await start(trainParams(choices));
    }),
    command('aligner.evaluate', (id?: unknown) => evaluate(typeof id === 'string' ? id : undefined)),
    command('aligner.exportRun', (id?: unknown) => exportRun(typeof id === 'string' ? id : undefined)),
    command('aligner.showRuns', (id?: unknown) => showRuns(typeof id === 'string' ? id : undefined)),
    command('aligner.trainFromReviews', () => trainFromReviews()),
  ];
}
