// reviews.jsonl in the extension's global storage: local only, readable by the user alone (0600).
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { countReviewRows, type ReviewRow } from './reviewRows.js';

export const REVIEWS_FILE = 'reviews.jsonl';

export async function appendReviewRows(file: string, rows: readonly ReviewRow[]): Promise<void> {
  if (rows.length === 0) return;
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, rows.map((r) => JSON.stringify(r) + '\n').join(''), { mode: 0o600 });
}

export async function reviewRowCount(file: string): Promise<number> {
  try {
    return countReviewRows(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}
