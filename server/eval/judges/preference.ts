// Preference judge (Q-A-C rows, reference = chosen, answer = rejected): given the question and the
// rejected answer, does the model find the chosen text likelier as its correction than the
// rejected text (i.e. than copying)? Compared per token (length-normalised) and in total.
import { isCopy } from '../text.js';
import { pct, type Judge } from './types.js';

export type PreferenceFields = {
  chosenLogprob: number;
  chosenTokens: number;
  rejectedLogprob: number;
  rejectedTokens: number;
  /** Mean log-probability per token (EOS included), chosen minus rejected. */
  marginPerToken: number;
  marginTotal: number;
  prefersChosenPerToken: boolean;
  prefersChosenTotal: boolean;
};

/** 1 for a preference for chosen, 0 against, 0.5 for an exact tie. */
const win = (margin: number) => (margin > 0 ? 1 : margin < 0 ? 0 : 0.5);

export const preferenceJudge: Judge<PreferenceFields> = {
  name: 'preference',
  description: 'likelihood of chosen (reference) vs rejected (answer) as the correction',
  // Identical chosen and rejected texts say nothing about preference.
  applies: (row) => row.reference !== undefined && !isCopy(row.answer, row.reference),
  async judge(row, _correction, ctx) {
    const base = {
      model: ctx.model,
      question: row.question,
      answer: row.answer,
      context: row.context,
      template: ctx.template,
    };
    const [chosen, rejected] = await Promise.all([
      ctx.service.score({ ...base, continuation: row.reference! }),
      ctx.service.score({ ...base, continuation: row.answer }),
    ]);
    const perToken = (s: { logprob: number; tokens: number }) => s.logprob / Math.max(1, s.tokens);
    const marginPerToken = perToken(chosen) - perToken(rejected);
    const marginTotal = chosen.logprob - rejected.logprob;
    return {
      chosenLogprob: chosen.logprob,
      chosenTokens: chosen.tokens,
      rejectedLogprob: rejected.logprob,
      rejectedTokens: rejected.tokens,
      marginPerToken,
      marginTotal,
      prefersChosenPerToken: marginPerToken > 0,
      prefersChosenTotal: marginTotal > 0,
    };
  },
  summarize(fields, stat) {
    return {
      n: fields.length,
      accuracyPerTokenPct: stat(pct(fields.map((f) => win(f.marginPerToken)))),
      accuracyTotalPct: stat(pct(fields.map((f) => win(f.marginTotal)))),
      marginPerToken: stat(fields.map((f) => f.marginPerToken)),
      marginTotal: stat(fields.map((f) => f.marginTotal)),
    };
  },
};
