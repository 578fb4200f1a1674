// LLM judge on any OpenAI-compatible endpoint: corrected vs original, asked in both position
// orders; see verdict.ts for how the two verdicts combine. A correction identical to the answer is
// a tie without asking.
import { ChatClient } from '../endpoint/chatClient.js';
import { clip, isCopy } from '../text.js';
import { renderJudgePrompt } from './llmPrompt.js';
import { countBy, type Judge, type JudgeContext, type StatFn } from './types.js';
import {
  OUTCOMES,
  combineOrders,
  outcomeOf,
  outcomeScore,
  parseVerdict,
  type Outcome,
  type Verdict,
} from './verdict.js';
import type { AnsweredRow, Correction } from '../types.js';

export interface OrderResult {
  /** original-first: A = original, B = correction; correction-first: the swap. */
  order: 'original-first' | 'correction-first';
  verdict: Verdict | null;
  outcome: Outcome;
  /** The judge's reply, clipped. */
  reply: string;
}

export type LlmFields = {
  orders: OrderResult[];
  outcome: Outcome;
  /** +1 win, 0 tie, -1 lose, null invalid. */
  score: 1 | 0 | -1 | null;
  /** The correction equals the answer: a tie, the judge was not asked. */
  identical: boolean;
};

const REPLY_CHARS = 2000;

export class LlmJudge implements Judge<LlmFields> {
  readonly name = 'llm';
  readonly description = 'LLM judge: corrected vs original, both orders (win rate minus lose rate)';

  constructor(
    private readonly client: ChatClient,
    private readonly prompt: string,
  ) {}

  applies(): boolean {
    return true;
  }

  async judge(row: AnsweredRow, correction: Correction, ctx: JudgeContext): Promise<LlmFields> {
    if (isCopy(row.answer, correction.text)) return { orders: [], outcome: 'tie', score: 0, identical: true };
    const ask = async (order: OrderResult['order']): Promise<OrderResult> => {
      const originalFirst = order === 'original-first';
      const content = renderJudgePrompt(this.prompt, {
        question: row.question,
        context: row.context,
        answerA: originalFirst ? row.answer : correction.text,
        answerB: originalFirst ? correction.text : row.answer,
      });
      const reply = await this.client.complete([{ role: 'user', content }], ctx.signal);
      const verdict = parseVerdict(reply);
      return {
        order,
        verdict,
        outcome: outcomeOf(verdict, originalFirst ? 'B' : 'A'),
        reply: clip(reply, REPLY_CHARS),
      };
    };
    const orders = await Promise.all([ask('original-first'), ask('correction-first')]);
    const outcome = combineOrders(orders[0]!.outcome, orders[1]!.outcome);
    return { orders, outcome, score: outcomeScore(outcome), identical: false };
  }

  summarize(fields: LlmFields[], stat: StatFn) {
    const counts = countBy(
      fields.map((f) => f.outcome),
      OUTCOMES,
    );
    const valid = fields.filter((f) => f.score !== null);
    const share = (k: Outcome) => (valid.length ? (100 * counts[k]) / valid.length : null);
    const asked = fields.filter((f) => !f.identical);
    const agreeing = asked.filter(
      (f) => f.orders.every((o) => o.outcome !== 'invalid') && f.orders[0]!.outcome === f.orders[1]!.outcome,
    );
    const askedValid = asked.filter((f) => f.score !== null);
    return {
      n: fields.length,
      improvementPct: stat(valid.map((f) => f.score! * 100)),
      counts,
      winRatePct: share('win'),
      tieRatePct: share('tie'),
      loseRatePct: share('lose'),
      judgeRequests: fields.reduce((s, f) => s + f.orders.length, 0),
      identicalSkipped: fields.filter((f) => f.identical).length,
      // How often the verdict survived the swap: low values mean a position-biased judge.
      positionConsistencyPct: askedValid.length ? (100 * agreeing.length) / askedValid.length : null,
    };
  }
}
