// The run list: status, kind, name, latest progress (step, loss, ETA) and when it was created.
import type { JobInfo } from '../../server/protocol/index.js';
import { Badge, DataTable, h, statusTone } from '../components/index.js';
import { fmtTime } from '../data/format.js';
import { jobProgress } from '../data/progress.js';

export function RunList(runs: JobInfo[], selected: string | null, onSelect: (id: string) => void): HTMLElement {
  return DataTable<JobInfo>({
    name: 'runs',
    columns: [
      { title: 'Status', width: '130px', cell: (j) => Badge(j.status, statusTone(j.status)) },
      { title: 'Kind', width: '70px', cell: (j) => j.kind },
      {
        title: 'Name',
        width: 'minmax(160px, 2fr)',
        cell: (j) => h('span', { class: 'run-name', title: j.id }, j.name),
      },
      {
        title: 'Progress',
        width: 'minmax(200px, 3fr)',
        cell: (j) => h('span', { class: 'run-progress' }, jobProgress(j).text),
      },
      { title: 'Created', width: '150px', cell: (j) => fmtTime(j.createdAt) },
    ],
    rows: runs,
    rowKey: (j) => j.id,
    selectedKey: selected,
    onRowClick: (j) => onSelect(j.id),
    empty: 'No runs yet. Start one with "Aligner: Train Aligner…" or "Aligner: Evaluate…".',
  });
}
