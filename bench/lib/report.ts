// Collects the benchmark's tables and notes, prints them as they come, and renders them as Markdown.
import { markdownTable, table } from './table.js';

export type Cell = string | number;

interface Block {
  title: string;
  notes: string[];
  headers?: string[];
  rows?: Cell[][];
}

export class Report {
  private readonly blocks: Block[] = [];

  /** A titled table with notes under it (notes explain units and what is counted). */
  table(title: string, headers: string[], rows: Cell[][], notes: string[] = []): void {
    this.blocks.push({ title, headers, rows, notes });
    console.log(`\n## ${title}\n${table(headers, rows)}${notes.map((n) => `\n- ${n}`).join('')}`);
  }

  /** A titled block of notes only (e.g. a section skipped, and why). */
  note(title: string, ...notes: string[]): void {
    this.blocks.push({ title, notes });
    console.log(`\n## ${title}${notes.map((n) => `\n- ${n}`).join('')}`);
  }

  markdown(heading: string): string {
    const parts = [`# ${heading}`];
    for (const b of this.blocks) {
      parts.push(`## ${b.title}`);
      if (b.headers && b.rows) parts.push(markdownTable(b.headers, b.rows));
      if (b.notes.length) parts.push(b.notes.map((n) => `- ${n}`).join('\n'));
    }
    return parts.join('\n\n') + '\n';
  }
}

/** Number formatting for the tables: fixed decimals, '—' for missing values. */
export const fmt = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);

/** Cores' worth of CPU that other processes used ('n/a' off Linux). */
export const others = (cores: number | null): string => (cores === null ? 'n/a' : cores.toFixed(2));
