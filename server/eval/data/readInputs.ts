// Reads the --data JSONL files into EvalRows, one file at a time, with per-file kind counts.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { EvalRow, RowKind } from '../types.js';
import { toEvalRow } from './rowKind.js';

export interface InputFileInfo {
  file: string;
  source: string;
  /** Rows selected (after --limit). */
  rows: number;
  kinds: Partial<Record<RowKind, number>>;
  /** Lines that are not a usable row, with the reason (first few). */
  invalid: { line: number; reason: string }[];
  invalidCount: number;
}

export interface ReadInputsOptions {
  /** First N usable rows of each file. */
  limit?: number;
  upstreamModel?: string;
}

/** Base names, unless two files share one: then the paths as given, so labels stay unique. */
export function sourceLabels(files: readonly string[]): string[] {
  const names = files.map((f) => basename(f));
  const clash = new Set(names).size !== names.length;
  return clash ? [...files] : names;
}

export async function readInputs(
  files: readonly string[],
  opts: ReadInputsOptions = {},
): Promise<{ rows: EvalRow[]; inputs: InputFileInfo[] }> {
  const labels = sourceLabels(files);
  const rows: EvalRow[] = [];
  const inputs: InputFileInfo[] = [];
  for (const [i, file] of files.entries()) {
    const source = labels[i]!;
    const info: InputFileInfo = { file, source, rows: 0, kinds: {}, invalid: [], invalidCount: 0 };
    const src = { source, fileStem: basename(file, extname(file)), upstreamModel: opts.upstreamModel };
    const lines = (await readFile(file, 'utf8')).split('\n');
    for (const [j, text] of lines.entries()) {
      if (opts.limit !== undefined && info.rows >= opts.limit) break;
      if (!text.trim()) continue;
      let value: unknown;
      let result: EvalRow | { invalid: string };
      try {
        value = JSON.parse(text);
        result = toEvalRow(value, j + 1, src);
      } catch (err) {
        result = { invalid: `not JSON: ${(err as Error).message}` };
      }
      if ('invalid' in result) {
        info.invalidCount++;
        if (info.invalid.length < 5) info.invalid.push({ line: j + 1, reason: result.invalid });
        continue;
      }
      rows.push(result);
      info.rows++;
      info.kinds[result.kind] = (info.kinds[result.kind] ?? 0) + 1;
    }
    inputs.push(info);
  }
  return { rows, inputs };
}
