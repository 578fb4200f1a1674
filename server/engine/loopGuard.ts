// Loop guard: a small Aligner copying a long, repetitive answer (tables, numbered lists) can fall
// into repeating one line until the length limit. Hugging Face's no_repeat_ngram_size would stop
// that, but it also bans every n-gram of the prompt, i.e. the copying an Aligner lives on. This
// guard bans a token only where it would make an n-gram occur in the output more often than it
// occurs in the prompt: copying the answer, repetitions included, stays allowed; new ones do not.

const key = (ids: readonly number[], from: number, to: number): string => ids.slice(from, to).join(',');

export class LoopGuard {
  private readonly promptCounts = new Map<string, number>();
  private readonly outputCounts = new Map<string, number>();
  /** (n-1)-gram of the output -> tokens that followed it there. */
  private readonly followers = new Map<string, Set<number>>();

  constructor(
    private readonly n: number,
    prompt: readonly number[],
  ) {
    if (!Number.isInteger(n) || n < 2) throw new RangeError(`loop guard n-gram size must be an integer >= 2, got ${n}`);
    for (let i = 0; i + n <= prompt.length; i++) {
      const k = key(prompt, i, i + n);
      this.promptCounts.set(k, (this.promptCounts.get(k) ?? 0) + 1);
    }
  }

  /** Sets to -Infinity the logits of tokens that would repeat an n-gram beyond the prompt's count. */
  apply(logits: Float32Array, output: readonly number[]): void {
    if (output.length < this.n - 1) return;
    const prefix = key(output, output.length - this.n + 1, output.length);
    const next = this.followers.get(prefix);
    if (!next) return;
    for (const id of next) {
      const gram = `${prefix},${id}`;
      if ((this.outputCounts.get(gram) ?? 0) >= Math.max(1, this.promptCounts.get(gram) ?? 0)) logits[id] = -Infinity;
    }
  }

  /** Counts the n-gram that the output's last token completed. Call after each appended token. */
  record(output: readonly number[]): void {
    if (output.length < this.n) return;
    const prefix = key(output, output.length - this.n, output.length - 1);
    const id = output[output.length - 1]!;
    const gram = `${prefix},${id}`;
    this.outputCounts.set(gram, (this.outputCounts.get(gram) ?? 0) + 1);
    let next = this.followers.get(prefix);
    if (!next) this.followers.set(prefix, (next = new Set()));
    next.add(id);
  }
}
