// One run in detail: header with actions, live progress, and by kind: loss and learning-rate curves
// (train), summary tables and examples (eval), the model folder (export). `live` updates only the
// progress, numbers and curves, so a stream of step events redraws nothing else.
import type { JobInfo } from '../../server/protocol/index.js';
import { Badge, Button, h, ProgressBar, replace, statusTone, type ProgressBarHandle } from '../components/index.js';
import { fmtEta, fmtLoss, fmtLr, fmtNumber, fmtTime, num } from '../data/format.js';
import { isActive, jobProgress } from '../data/progress.js';
import { trainSeries } from '../data/series.js';
import type { ExampleRow } from '../messages.js';
import type { RunDetail } from '../state.js';
import { LineChart, type ChartHandle, type SeriesSpec } from './charts.js';
import { EvalTables } from './evalTables.js';
import { Examples } from './examples.js';

export interface DetailActions {
  cancel(id: string): void;
  resume(id: string): void;
  exportRun(id: string): void;
  useModel(id: string): void;
  evaluate(id: string): void;
  moreExamples(id: string): void;
}

export interface ExamplesState {
  rows?: ExampleRow[];
  error?: string;
  /** More rows may exist. */
  more: boolean;
}

type Event = Record<string, unknown>;

function lastEvent(events: readonly Event[], name: string): Event | undefined {
  return [...events].reverse().find((e) => e.event === name);
}

export function lossSeries(events: readonly Event[], label = ''): SeriesSpec[] {
  const s = trainSeries(events);
  return [
    { label: `${label}train loss`, color: '--vscode-charts-blue', points: s.loss },
    { label: `${label}eval loss`, color: '--vscode-charts-orange', points: s.evalLoss, pointsOnly: true },
  ];
}

function actionsFor(job: JobInfo, a: DetailActions): HTMLElement {
  const buttons: HTMLElement[] = [];
  if (isActive(job.status))
    buttons.push(Button({ label: 'Cancel', action: 'cancel', onClick: () => a.cancel(job.id) }));
  if (job.resumable && !isActive(job.status))
    buttons.push(Button({ label: 'Resume', action: 'resume', onClick: () => a.resume(job.id) }));
  if (job.kind === 'train' && job.status === 'succeeded')
    buttons.push(
      Button({ label: 'Export', appearance: 'primary', action: 'export', onClick: () => a.exportRun(job.id) }),
    );
  if (job.kind === 'export' && job.status === 'succeeded') {
    buttons.push(
      Button({
        label: 'Use this model',
        appearance: 'primary',
        action: 'use-model',
        onClick: () => a.useModel(job.id),
      }),
    );
    buttons.push(Button({ label: 'Evaluate…', action: 'evaluate', onClick: () => a.evaluate(job.id) }));
  }
  return h('div', { class: 'actions' }, ...buttons);
}

function configList(job: JobInfo): HTMLElement {
  const dl = h('dl', { class: 'config' });
  for (const [k, v] of Object.entries(job.config)) {
    if (v === undefined) continue;
    dl.append(h('dt', {}, k), h('dd', {}, Array.isArray(v) ? v.join(', ') : String(v)));
  }
  for (const [k, v] of Object.entries(job.artifacts))
    if (k !== 'loadOnSuccess') dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

function evalModelLabel(job: JobInfo, nameOf: (id: string) => string | undefined): string {
  const model = String((job.config as { model?: unknown }).model ?? '');
  return nameOf(model) ?? model;
}

export class RunDetailView {
  readonly el = h('section', { class: 'run-detail' });
  private shownId: string | null = null;
  private progress: ProgressBarHandle | null = null;
  private stats: HTMLElement | null = null;
  private charts: { loss?: ChartHandle; lr?: ChartHandle } = {};

  get jobId(): string | null {
    return this.shownId;
  }

  clear(message: string): void {
    this.destroyCharts();
    this.shownId = null;
    replace(this.el, h('p', { class: 'muted placeholder' }, message));
  }

  /** `nameOf`: a job's name from its id (an eval's model can be an export job). */
  render(
    detail: RunDetail,
    examples: ExamplesState,
    actions: DetailActions,
    nameOf: (id: string) => string | undefined = () => undefined,
  ): void {
    this.destroyCharts();
    const { job } = detail;
    this.shownId = job.id;
    const p = jobProgress(job, detail.events);
    this.progress = ProgressBar(p.fraction, p.text);
    const header = h(
      'header',
      { class: 'detail-header' },
      h('h2', {}, job.name),
      Badge(job.status, statusTone(job.status)),
      h(
        'span',
        { class: 'muted' },
        `${job.kind} · ${job.id} · created ${fmtTime(job.createdAt)}${job.endedAt ? ` · ended ${fmtTime(job.endedAt)}` : ''}`,
      ),
      actionsFor(job, actions),
    );
    const parts: (HTMLElement | null)[] = [
      header,
      job.error ? h('p', { class: 'error' }, job.error) : null,
      this.progress.el,
    ];
    if (job.kind === 'train') parts.push(...this.trainParts(detail));
    else if (job.kind === 'eval') {
      parts.push(
        detail.summary
          ? EvalTables(detail.summary, evalModelLabel(job, nameOf))
          : h(
              'p',
              { class: 'muted' },
              isActive(job.status)
                ? 'The summary tables appear when the evaluation finishes.'
                : 'This evaluation wrote no summary.',
            ),
        Examples(examples.rows, examples.error, examples.more ? () => actions.moreExamples(job.id) : null),
      );
    } else parts.push(this.exportParts(detail));
    parts.push(h('details', { class: 'config-details' }, h('summary', {}, 'Configuration'), configList(job)));
    if (detail.logTail)
      parts.push(
        h(
          'details',
          { class: 'log', open: job.status === 'failed' },
          h('summary', {}, 'Log (last lines)'),
          h('pre', {}, detail.logTail),
        ),
      );
    replace(this.el, ...parts);
    this.el.dataset.job = job.id;
    this.el.dataset.status = job.status;
  }

  /** A new event for the shown run: progress, numbers and curves only. */
  live(detail: RunDetail): void {
    if (detail.job.id !== this.shownId) return;
    const p = jobProgress(detail.job, detail.events);
    this.progress?.update(p.fraction, p.text);
    if (detail.job.kind !== 'train') return;
    if (this.stats) replace(this.stats, ...this.statItems(detail));
    this.charts.loss?.update(lossSeries(detail.events));
    this.charts.lr?.update([
      { label: 'learning rate', color: '--vscode-charts-green', points: trainSeries(detail.events).lr },
    ]);
  }

  private trainParts(detail: RunDetail): HTMLElement[] {
    this.stats = h('div', { class: 'stats' }, ...this.statItems(detail));
    const s = trainSeries(detail.events);
    this.charts.loss = LineChart({ name: 'loss', title: 'Loss', yTitle: 'loss', series: lossSeries(detail.events) });
    this.charts.lr = LineChart({
      name: 'lr',
      title: 'Learning rate',
      yTitle: 'lr',
      series: [{ label: 'learning rate', color: '--vscode-charts-green', points: s.lr }],
    });
    return [this.stats, h('div', { class: 'charts' }, this.charts.loss.el, this.charts.lr.el)];
  }

  private statItems(detail: RunDetail): HTMLElement[] {
    const step = { ...(detail.job.latest ?? {}), ...(lastEvent(detail.events, 'step') ?? {}) };
    const start = lastEvent(detail.events, 'start') ?? {};
    const done = lastEvent(detail.events, 'done');
    const evalLoss = num(lastEvent(detail.events, 'eval')?.eval_loss);
    const params = num(start.parameters);
    const p = jobProgress(detail.job, detail.events);
    const items: [string, string][] = [
      ['step', p.step === null ? '—' : `${p.step}${num(start.max_steps) ? ` / ${String(start.max_steps)}` : ''}`],
      ['loss', fmtLoss(num(step.loss))],
      ['eval loss', fmtLoss(evalLoss)],
      ['learning rate', fmtLr(num(step.lr))],
      ['tokens/s', fmtNumber(num(step.tokens_per_s), 0)],
      [
        'ETA',
        isActive(detail.job.status)
          ? fmtEta(num(step.eta_s))
          : done
            ? `done in ${fmtEta(num(done.total_seconds))}`
            : '—',
      ],
      [
        'parameters',
        params === null ? '—' : params >= 1e6 ? `${(params / 1e6).toFixed(1)} M` : `${(params / 1e3).toFixed(0)} k`,
      ],
      [
        'device',
        start.device === undefined
          ? '—'
          : `${String(start.device)}${start.precision ? ` · ${String(start.precision)}` : ''}`,
      ],
    ];
    return items.map(([k, v]) =>
      h(
        'div',
        { class: 'stat', 'data-stat': k },
        h('span', { class: 'stat-label' }, k),
        h('span', { class: 'stat-value' }, v),
      ),
    );
  }

  private exportParts(detail: RunDetail): HTMLElement {
    const done = lastEvent(detail.events, 'done');
    const loaded = lastEvent(detail.events, 'model-loaded');
    return h(
      'div',
      { class: 'export-info' },
      h('p', {}, 'Model folder: ', h('code', {}, detail.job.artifacts.modelDir ?? '—')),
      done
        ? h(
            'p',
            { class: 'muted' },
            `${String(done.dtype ?? '')} · ${((num(done.onnx_bytes) ?? 0) / 2 ** 20).toFixed(1)} MiB ONNX · exported in ${fmtEta(num(done.seconds))}`,
          )
        : null,
      loaded ? h('p', {}, `Loaded into the server as ${String(loaded.model)}.`) : null,
    );
  }

  private destroyCharts(): void {
    this.charts.loss?.destroy();
    this.charts.lr?.destroy();
    this.charts = {};
    this.progress = null;
    this.stats = null;
  }
}
