// Compare two runs of the same kind: training runs as overlaid loss curves, eval runs as their
// summaries side by side. The app loads the details; this view only draws what it is given.
import type { JobInfo } from '../../server/protocol/index.js';
import { DataTable, h, replace, Select } from '../components/index.js';
import { fmtNumber, fmtStat } from '../data/format.js';
import { compareSummaries } from '../data/summary.js';
import type { RunDetail } from '../state.js';
import { LineChart, type ChartHandle } from './charts.js';
import { lossSeries } from './runDetail.js';

export class CompareView {
  readonly el = h('section', { class: 'compare' });
  private chart: ChartHandle | null = null;

  render(
    runs: JobInfo[],
    picks: [string, string],
    details: Map<string, RunDetail>,
    onPick: (which: 0 | 1, id: string) => void,
  ): void {
    this.chart?.destroy();
    this.chart = null;
    const comparable = runs.filter((r) => r.kind === 'train' || r.kind === 'eval');
    const kindA = runs.find((r) => r.id === picks[0])?.kind;
    const options = (filter?: string) => [
      { value: '', label: 'Choose a run…' },
      ...comparable
        .filter((r) => !filter || r.kind === filter)
        .map((r) => ({ value: r.id, label: `${r.kind} · ${r.name} (${r.status})` })),
    ];
    const pickers = h(
      'div',
      { class: 'compare-pickers' },
      h(
        'label',
        {},
        'Run A ',
        Select(options(), picks[0], (v) => onPick(0, v), 'compare-a'),
      ),
      h(
        'label',
        {},
        'Run B ',
        Select(options(kindA), picks[1], (v) => onPick(1, v), 'compare-b'),
      ),
    );
    const a = details.get(picks[0]);
    const b = details.get(picks[1]);
    let body: HTMLElement;
    if (!picks[0] || !picks[1])
      body = h(
        'p',
        { class: 'muted' },
        'Pick two training runs to overlay their loss curves, or two evaluations to compare their results.',
      );
    else if (!a || !b) body = h('p', { class: 'muted' }, 'Loading…');
    else if (a.job.kind !== b.job.kind) body = h('p', { class: 'error' }, 'Pick two runs of the same kind.');
    else if (a.job.kind === 'train') {
      this.chart = LineChart({
        name: 'compare-loss',
        title: 'Loss',
        yTitle: 'loss',
        series: [
          ...lossSeries(a.events, 'A: '),
          ...lossSeries(b.events, 'B: ').map((s) => ({
            ...s,
            dashed: true,
            color: s.color === '--vscode-charts-blue' ? '--vscode-charts-purple' : '--vscode-charts-red',
          })),
        ],
      });
      body = this.chart.el;
    } else if (!a.summary || !b.summary)
      body = h('p', { class: 'muted' }, 'Both evaluations need a summary (they must have finished).');
    else
      body = DataTable({
        name: 'compare-eval',
        columns: [
          { title: 'Judge', width: '120px', cell: (r) => r.judge },
          { title: 'Measure', width: 'minmax(140px, 1.5fr)', cell: (r) => r.metric },
          { title: `A: ${a.job.name}`, width: 'minmax(160px, 2fr)', numeric: true, cell: (r) => fmtStat(r.a) },
          { title: `B: ${b.job.name}`, width: 'minmax(160px, 2fr)', numeric: true, cell: (r) => fmtStat(r.b) },
          { title: 'B − A', width: '90px', numeric: true, cell: (r) => fmtNumber(r.delta) },
        ],
        rows: compareSummaries(a.summary, b.summary),
      });
    replace(this.el, pickers, body);
  }
}
