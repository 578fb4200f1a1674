// Always on: copy rate and length change, the paper's measures of how much an Aligner edits
// (Aligner-2B left 5-12% of AlpacaEval answers unchanged and shortened GPT-4 Turbo's by ~24%).
import { charLength, isCopy } from '../text.js';
import { pct, type Judge } from './types.js';

export type BasicFields = {
  copy: boolean;
  answerChars: number;
  correctionChars: number;
  lengthDeltaChars: number;
  /** correction chars / answer chars; null for an empty answer. */
  lengthRatio: number | null;
  /** The correction hit --max-new-tokens. */
  truncated: boolean;
};

export const basicJudge: Judge<BasicFields> = {
  name: 'basic',
  description: 'copy rate and length change (always on)',
  applies: () => true,
  async judge(row, correction) {
    const answerChars = charLength(row.answer);
    const correctionChars = charLength(correction.text);
    return {
      copy: isCopy(row.answer, correction.text),
      answerChars,
      correctionChars,
      lengthDeltaChars: correctionChars - answerChars,
      lengthRatio: answerChars > 0 ? correctionChars / answerChars : null,
      truncated: correction.finishReason === 'length',
    };
  },
  summarize(fields, stat) {
    const ratios = fields.map((f) => f.lengthRatio).filter((r): r is number => r !== null);
    return {
      n: fields.length,
      copyRatePct: stat(pct(fields.map((f) => (f.copy ? 1 : 0)))),
      lengthDeltaChars: stat(fields.map((f) => f.lengthDeltaChars)),
      lengthRatio: stat(ratios),
      answerChars: stat(fields.map((f) => f.answerChars)),
      correctionChars: stat(fields.map((f) => f.correctionChars)),
      truncated: fields.filter((f) => f.truncated).length,
    };
  },
};
