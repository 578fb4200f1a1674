// `aligner export-data`: corrections from an eval run or from recorded reviews as training data for
// the upstream model (the Aligner paper's weak-to-strong use), in TRL's conversational formats.
import { toRows } from './formats.js';
import { readSource } from './readSource.js';
import { SKIP_REASONS, type ExportFormat, type SkipCounts, type SourceKind } from './types.js';
import { checkOutPath, writeFileAtomic } from './writeOutput.js';

export { EXPORT_FORMATS, SKIP_REASONS } from './types.js';
export type { CorrectedPair, DpoRow, ExportFormat, SftRow, SkipCounts, SkipReason, SourceKind } from './types.js';
export { readSource, REVIEWS_FILE } from './readSource.js';
export { dpoRow, sftRow, toRows } from './formats.js';

export interface ExportOptions {
  from: string;
  format: ExportFormat;
  out: string;
}

export interface ExportResult {
  kind: SourceKind;
  rows: number;
  skipped: SkipCounts;
}

const REASON_TEXT: Record<keyof SkipCounts, string> = {
  errored: 'errored',
  truncated: 'truncated at --max-new-tokens',
  incomplete: 'without a question, answer or correction',
  unchanged: 'unchanged (the correction equals the answer: no preference)',
  unreadable: 'not readable as a row',
};

/** "3 rows skipped: 1 errored, 2 unchanged (…)", or '' when none was. */
export function describeSkips(skipped: SkipCounts): string {
  const parts = SKIP_REASONS.filter((r) => skipped[r] > 0).map((r) => `${skipped[r]} ${REASON_TEXT[r]}`);
  const total = SKIP_REASONS.reduce((n, r) => n + skipped[r], 0);
  return total === 0 ? '' : `${total} row${total === 1 ? '' : 's'} skipped: ${parts.join(', ')}`;
}

export function exportData(opts: ExportOptions): ExportResult {
  const source = readSource(opts.from);
  checkOutPath(opts.out, source.files);
  const { rows, unchanged } = toRows(source.pairs, opts.format);
  const skipped = { ...source.skipped, unchanged };
  // An empty file would only fail later, in the trainer; say why here instead.
  if (rows.length === 0) {
    const why = describeSkips(skipped);
    throw new Error(`nothing to export from ${opts.from}${why ? ` (${why})` : ''}`);
  }
  writeFileAtomic(opts.out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { kind: source.kind, rows: rows.length, skipped };
}
