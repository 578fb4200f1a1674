// Copy-aware speculation (prompt lookup): an Aligner's correction often copies long stretches of the
// answer it corrects, so the tokens that followed the last n-gram's occurrence in the prompt are a
// cheap, often right draft. The draft is verified in one forward pass; draft length adapts to how
// much gets accepted and speculation pauses itself where it does not pay.

export interface SpeculationOptions {
  maxNgram: number;
  initialDraft: number;
  maxDraft: number;
  /** Fruitless attempts in a row before pausing, and how many steps the pause lasts. */
  patience: number;
  pauseSteps: number;
}

export const DEFAULT_SPECULATION: SpeculationOptions = {
  maxNgram: 3,
  initialDraft: 4,
  maxDraft: 12,
  patience: 3,
  pauseSteps: 16,
};

export class PromptLookupDrafter {
  private draftLength: number;
  private misses = 0;
  private pausedFor = 0;
  drafted = 0;
  accepted = 0;

  constructor(
    private readonly source: number[],
    private readonly opts: SpeculationOptions = DEFAULT_SPECULATION,
  ) {
    this.draftLength = opts.initialDraft;
  }

  /** Up to `limit` tokens predicted to follow `generated` (prompt lookup over the source). */
  propose(generated: number[], limit: number): number[] {
    if (this.pausedFor > 0) {
      this.pausedFor--;
      return [];
    }
    const k = Math.min(this.draftLength, limit);
    if (k <= 0) return [];
    // The text so far is prompt + generated; look for the latest earlier occurrence of its last
    // n-gram (longest n first) and propose what followed it. In a correction prompt the answer comes
    // last, so the latest match is usually in the answer being corrected.
    const text = generated.length ? [...this.source, ...generated] : this.source;
    for (let n = Math.min(this.opts.maxNgram, text.length - 1); n >= 1; n--) {
      const start = text.length - n;
      for (let i = start - 1; i >= 0; i--) {
        let match = true;
        for (let j = 0; j < n; j++) {
          if (text[i + j] !== text[start + j]) {
            match = false;
            break;
          }
        }
        if (match) return text.slice(i + n, Math.min(i + n + k, text.length));
      }
    }
    return [];
  }

  /** Adapts the draft length to what the verification accepted. */
  record(drafted: number, accepted: number): void {
    if (drafted === 0) return;
    this.drafted += drafted;
    this.accepted += accepted;
    if (accepted === drafted) {
      this.draftLength = Math.min(this.opts.maxDraft, this.draftLength + 2);
      this.misses = 0;
    } else {
      this.draftLength = Math.max(1, accepted + 1);
      this.misses = accepted === 0 ? this.misses + 1 : 0;
      if (this.misses >= this.opts.patience) {
        this.pausedFor = this.opts.pauseSteps;
        this.misses = 0;
        this.draftLength = this.opts.initialDraft;
      }
    }
  }
}
