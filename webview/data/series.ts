// Training progress events -> chart series. A resumed run restarts from a checkpoint, so points logged
// after that checkpoint by the interrupted attempt are dropped; a step logged twice keeps its latest value.
import { num } from './format.js';

export interface Point {
  x: number;
  y: number;
}

export interface TrainSeries {
  loss: Point[];
  lr: Point[];
  evalLoss: Point[];
}

type Event = Record<string, unknown>;

/** The step a `start` event resumes from (its checkpoint folder is named checkpoint-<step>). */
export function resumedStep(e: Event): number | null {
  if (e.event !== 'start' || typeof e.resumed_from !== 'string') return null;
  const m = /checkpoint-(\d+)\/?$/.exec(e.resumed_from);
  return m ? Number(m[1]) : null;
}

export function trainSeries(events: readonly Event[]): TrainSeries {
  const loss = new Map<number, number>();
  const lr = new Map<number, number>();
  const evalLoss = new Map<number, number>();
  for (const e of events) {
    const from = resumedStep(e);
    if (from !== null) {
      for (const m of [loss, lr, evalLoss]) for (const step of [...m.keys()]) if (step > from) m.delete(step);
      continue;
    }
    const step = num(e.step);
    if (step === null) continue;
    if (e.event === 'step') {
      const l = num(e.loss);
      const r = num(e.lr);
      if (l !== null) loss.set(step, l);
      if (r !== null) lr.set(step, r);
    } else if (e.event === 'eval') {
      const v = num(e.eval_loss);
      if (v !== null) evalLoss.set(step, v);
    }
  }
  const points = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x, y }));
  return { loss: points(loss), lr: points(lr), evalLoss: points(evalLoss) };
}
