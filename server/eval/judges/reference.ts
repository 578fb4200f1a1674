// Reference judge (Q-A-C rows): is the correction closer to the reference correction than the
// original answer was? chrF and ROUGE-L of both against the reference, and their difference.
import { chrF } from '../metrics/chrf.js';
import { rougeL } from '../metrics/rougeL.js';
import { countBy, pct, sign, type Judge } from './types.js';

export type ReferenceFields = {
  chrfCorrection: number;
  chrfAnswer: number;
  /** chrfCorrection - chrfAnswer. */
  chrfDelta: number;
  rougeLCorrection: number;
  rougeLAnswer: number;
  rougeLDelta: number;
  /** chrF of the correction against the original answer: how much of it was kept. */
  copyFaithfulnessChrf: number;
  /** 1 closer to the reference (by chrF), -1 farther, 0 same. */
  closer: -1 | 0 | 1;
  closerRougeL: -1 | 0 | 1;
};

export const referenceJudge: Judge<ReferenceFields> = {
  name: 'reference',
  description: 'chrF / ROUGE-L of correction and answer against the reference correction',
  applies: (row) => row.reference !== undefined,
  async judge(row, correction) {
    const ref = row.reference!;
    const chrfCorrection = chrF(correction.text, ref);
    const chrfAnswer = chrF(row.answer, ref);
    const rougeLCorrection = rougeL(correction.text, ref);
    const rougeLAnswer = rougeL(row.answer, ref);
    return {
      chrfCorrection,
      chrfAnswer,
      chrfDelta: chrfCorrection - chrfAnswer,
      rougeLCorrection,
      rougeLAnswer,
      rougeLDelta: rougeLCorrection - rougeLAnswer,
      copyFaithfulnessChrf: chrF(correction.text, row.answer),
      closer: sign(chrfCorrection - chrfAnswer),
      closerRougeL: sign(rougeLCorrection - rougeLAnswer),
    };
  },
  summarize(fields, stat) {
    const outcome = countBy(
      fields.map((f) => (f.closer > 0 ? 'closer' : f.closer < 0 ? 'farther' : 'same')),
      ['closer', 'same', 'farther'],
    );
    return {
      n: fields.length,
      improvementPct: stat(pct(fields.map((f) => f.closer))),
      improvementRougeLPct: stat(pct(fields.map((f) => f.closerRougeL))),
      counts: outcome,
      chrfCorrection: stat(fields.map((f) => f.chrfCorrection)),
      chrfAnswer: stat(fields.map((f) => f.chrfAnswer)),
      chrfDelta: stat(fields.map((f) => f.chrfDelta)),
      rougeLCorrection: stat(fields.map((f) => f.rougeLCorrection)),
      rougeLAnswer: stat(fields.map((f) => f.rougeLAnswer)),
      rougeLDelta: stat(fields.map((f) => f.rougeLDelta)),
      copyFaithfulnessChrf: stat(fields.map((f) => f.copyFaithfulnessChrf)),
    };
  },
};
