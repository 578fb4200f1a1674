// Progress with an ETA from this session's pace (rows skipped on resume do not count toward it).

export interface EvalProgress {
  event: 'eval-progress';
  done: number;
  total: number;
  errors: number;
  /** Seconds left at the pace so far; null until a row finished. */
  eta_s: number | null;
}

export class ProgressTracker {
  private readonly started = performance.now();
  private readonly initial: number;
  done: number;
  errors = 0;

  constructor(
    readonly total: number,
    alreadyDone: number,
  ) {
    this.initial = alreadyDone;
    this.done = alreadyDone;
  }

  rowFinished(failed: boolean): void {
    this.done++;
    if (failed) this.errors++;
  }

  snapshot(): EvalProgress {
    const fresh = this.done - this.initial;
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = fresh > 0 ? ((this.total - this.done) * elapsed) / fresh : null;
    return {
      event: 'eval-progress',
      done: this.done,
      total: this.total,
      errors: this.errors,
      eta_s: eta === null ? null : Math.round(eta * 10) / 10,
    };
  }
}
