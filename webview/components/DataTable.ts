// A table (toolkit: vscode-data-grid) built from typed column definitions. Cells are light-DOM text
// or elements, so their content is searchable and never parsed as HTML.
import { h, type Child } from './dom.js';

export interface Column<T> {
  title: string;
  /** CSS grid track, e.g. "1fr" or "120px". */
  width?: string;
  cell: (row: T) => Child;
  /** Right-aligned numbers. */
  numeric?: boolean;
}

export interface DataTableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey?: (row: T) => string;
  selectedKey?: string | null;
  onRowClick?: (row: T) => void;
  empty?: string;
  /** Stable hook for tests and CSS. */
  name?: string;
}

export function DataTable<T>(p: DataTableProps<T>): HTMLElement {
  const grid = h('vscode-data-grid', {
    'grid-template-columns': p.columns.map((c) => c.width ?? '1fr').join(' '),
    'aria-label': p.name,
    'data-table': p.name,
    class: 'data-table',
  });
  const header = h('vscode-data-grid-row', { 'row-type': 'header' });
  p.columns.forEach((c, i) =>
    header.append(h('vscode-data-grid-cell', { 'cell-type': 'columnheader', 'grid-column': i + 1 }, c.title)),
  );
  grid.append(header);
  for (const row of p.rows) {
    const key = p.rowKey?.(row);
    const r = h('vscode-data-grid-row', {
      'data-key': key,
      class: [p.onRowClick ? 'clickable' : '', key !== undefined && key === p.selectedKey ? 'selected' : '']
        .join(' ')
        .trim(),
    });
    p.columns.forEach((c, i) =>
      r.append(
        h('vscode-data-grid-cell', { 'grid-column': i + 1, class: c.numeric ? 'numeric' : undefined }, c.cell(row)),
      ),
    );
    if (p.onRowClick) {
      r.addEventListener('click', () => p.onRowClick!(row));
      r.addEventListener('keydown', (e) => {
        if ((e as KeyboardEvent).key === 'Enter') p.onRowClick!(row);
      });
    }
    grid.append(r);
  }
  if (p.rows.length === 0 && p.empty)
    return h('div', { class: 'table-wrap' }, grid, h('p', { class: 'empty' }, p.empty));
  return grid;
}
