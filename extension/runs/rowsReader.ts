// Reads the first corrected rows of an eval's rows.jsonl for the dashboard's examples. Streams the
// file and stops early (it can be large); skips failed rows and torn lines; cuts long texts.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { MAX_EXAMPLE_CHARS, type ExampleRow } from '../../webview/messages.js';

function clip(text: string): string {
  return text.length > MAX_EXAMPLE_CHARS ? `${text.slice(0, MAX_EXAMPLE_CHARS)}…` : text;
}

/** One rows.jsonl record as an example, or null when it has no correction (failed or pending). */
export function toExample(record: unknown): ExampleRow | null {
  if (typeof record !== 'object' || record === null) return null;
  const r = record as Record<string, unknown>;
  if (typeof r.correction !== 'string' || typeof r.answer !== 'string' || typeof r.question !== 'string') return null;
  return {
    id: String(r.id ?? ''),
    source: String(r.source ?? ''),
    upstream: String(r.upstream ?? ''),
    question: clip(r.question),
    answer: clip(r.answer),
    correction: clip(r.correction),
    ...(typeof r.reference === 'string' ? { reference: clip(r.reference) } : {}),
  };
}

export async function readExampleRows(file: string, limit: number): Promise<ExampleRow[]> {
  if (!existsSync(file)) return [];
  const rows: ExampleRow[] = [];
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // a line torn by a crash
      }
      const row = toExample(parsed);
      if (row) rows.push(row);
      if (rows.length >= limit) break;
    }
  } finally {
    lines.close();
    input.destroy();
  }
  return rows;
}
