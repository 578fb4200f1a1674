// Corrected pairs -> TRL's conversational dataset rows: SFT imitates the correction, DPO prefers it
// over the original answer.
import { isCopy } from '../eval/text.js';
import type { CorrectedPair, DpoRow, ExportFormat, SftRow } from './types.js';

export const sftRow = (p: CorrectedPair): SftRow => ({
  messages: [...p.prompt, { role: 'assistant', content: p.corrected }],
});

export const dpoRow = (p: CorrectedPair): DpoRow => ({
  prompt: p.prompt,
  chosen: [{ role: 'assistant', content: p.corrected }],
  rejected: [{ role: 'assistant', content: p.original }],
});

/**
 * The rows of one format. A correction that kept the answer (whitespace aside, as the eval's `copy`
 * measure counts it) still makes an SFT row: the answer was already right. It expresses no
 * preference, so DPO leaves it out and counts it as `unchanged`.
 */
export function toRows(pairs: readonly CorrectedPair[], format: ExportFormat): { rows: unknown[]; unchanged: number } {
  if (format === 'sft') return { rows: pairs.map(sftRow), unchanged: 0 };
  const kept = pairs.filter((p) => !isCopy(p.original, p.corrected));
  return { rows: kept.map(dpoRow), unchanged: pairs.length - kept.length };
}
