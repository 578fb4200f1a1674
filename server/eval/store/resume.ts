// Resuming: what rows.jsonl already holds, which rows still need work, and whether the output
// folder belongs to a run with the same settings (run.json).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalRow, RowRecord } from '../types.js';
import { readJsonl } from './jsonlFile.js';

export const ROWS_FILE = 'rows.jsonl';
export const RUN_FILE = 'run.json';
export const SUMMARY_JSON = 'summary.json';
export const SUMMARY_MD = 'summary.md';

/** The latest record of each row id; a later line (a retry) replaces an earlier one. */
export function latestRecords(records: readonly RowRecord[]): Map<string, RowRecord> {
  const byId = new Map<string, RowRecord>();
  for (const r of records) if (typeof r?.id === 'string') byId.set(r.id, r);
  return byId;
}

/** A row is done once it has a result, or failed for good; other failures are tried again. */
export const isDone = (r: RowRecord | undefined): boolean =>
  r !== undefined && (r.error === undefined || r.permanent === true);

/** A record with a correction and judge fields (what the metrics use). */
export const hasResult = (r: RowRecord | undefined): r is RowRecord => r !== undefined && r.error === undefined;

export function pendingRows(rows: readonly EvalRow[], done: Map<string, RowRecord>): EvalRow[] {
  return rows.filter((r) => !isDone(done.get(r.id)));
}

export function loadRecords(outDir: string): { byId: Map<string, RowRecord>; badLines: number } {
  const { records, badLines } = readJsonl<RowRecord>(join(outDir, ROWS_FILE));
  return { byId: latestRecords(records), badLines };
}

/**
 * Prepares the output folder. Settings that change the rows (model, judges, generation…) must
 * match the run that wrote rows.jsonl; `force` starts over instead (the upstream answer cache
 * stays: it depends only on the upstream model).
 */
export function prepareOutDir(outDir: string, settings: Record<string, unknown>, force: boolean): void {
  mkdirSync(outDir, { recursive: true });
  const runPath = join(outDir, RUN_FILE);
  if (force) {
    for (const f of [ROWS_FILE, RUN_FILE, SUMMARY_JSON, SUMMARY_MD]) rmSync(join(outDir, f), { force: true });
  }
  if (existsSync(runPath)) {
    const previous = (JSON.parse(readFileSync(runPath, 'utf8')) as { settings?: unknown }).settings;
    const diff = settingsDiff(previous as Record<string, unknown> | undefined, settings);
    if (diff.length > 0) {
      throw new Error(
        `${outDir} holds a run with other settings (${diff.join(', ')}); use --force to start over or another --out`,
      );
    }
  } else if (existsSync(join(outDir, ROWS_FILE))) {
    throw new Error(`${outDir} has ${ROWS_FILE} but no ${RUN_FILE}; use --force to start over or another --out`);
  }
  writeFileSync(runPath, JSON.stringify({ version: 1, settings }, null, 2) + '\n');
}

/** Names of the settings that differ. */
export function settingsDiff(a: Record<string, unknown> | undefined, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a?.[k] ?? null) !== JSON.stringify(b[k] ?? null)).sort();
}
