// An eval run's tables: improvement per upstream model and judge, and every judge overall.
import { DataTable, h } from '../components/index.js';
import { fmtStat } from '../data/format.js';
import { judgeRows, upstreamRows, type SummaryView } from '../data/summary.js';

/** `model`: how to name the evaluated model (an exported run's name, or the folder). */
export function EvalTables(s: SummaryView, model: string): HTMLElement {
  const c = s.counts;
  return h(
    'section',
    { class: 'eval-tables' },
    h(
      'p',
      { class: 'muted' },
      `Model ${model || s.model || '—'} · ${c.evaluated} of ${c.rows} rows evaluated${c.errors ? ` · ${c.errors} errors` : ''}${
        c.pending ? ` · ${c.pending} pending` : ''
      }${s.complete ? '' : ' · incomplete'}. Intervals are 95% bootstrap intervals.`,
    ),
    h('h3', {}, 'Improvement per upstream model'),
    DataTable({
      name: 'per-upstream',
      columns: [
        { title: 'Upstream', width: 'minmax(120px, 2fr)', cell: (r) => r.upstream },
        { title: 'Judge', width: '120px', cell: (r) => r.judge },
        { title: 'n', width: '60px', numeric: true, cell: (r) => r.n },
        {
          title: 'Improvement % [95% CI]',
          width: 'minmax(180px, 2fr)',
          numeric: true,
          cell: (r) => fmtStat(r.improvement),
        },
        { title: 'Counts', width: 'minmax(200px, 3fr)', cell: (r) => r.counts },
      ],
      rows: upstreamRows(s),
      empty: 'No judge measured an improvement.',
    }),
    h('h3', {}, 'Per judge (all rows)'),
    DataTable({
      name: 'per-judge',
      columns: [
        { title: 'Judge', width: '120px', cell: (r) => r.judge },
        { title: 'n', width: '60px', numeric: true, cell: (r) => r.n },
        { title: 'Measure', width: 'minmax(140px, 1.5fr)', cell: (r) => r.metric },
        {
          title: 'Mean [95% CI]',
          width: 'minmax(180px, 2fr)',
          numeric: true,
          cell: (r) => fmtStat(r.value, r.metric === 'tokens/s' ? 0 : 1),
        },
        { title: 'Counts', width: 'minmax(200px, 3fr)', cell: (r) => r.counts },
      ],
      rows: judgeRows(s.overall),
    }),
  );
}
