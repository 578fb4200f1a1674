// Turns generated token ids into text deltas that never split a UTF-8 character, and ends the text
// at the first stop string (which is never emitted, not even in part).

/** Incremental detokenizer (prefix/read offsets, as in text-generation-inference): decoding a short
 *  window with some left context keeps leading spaces right and costs O(1) per token. */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly decode: (ids: number[]) => string) {}

  /** Returns the text that token `id` completes; '' while a character is still incomplete. */
  push(id: number): string {
    this.ids.push(id);
    const prefixText = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const text = this.decode(this.ids.slice(this.prefixOffset));
    if (text.length > prefixText.length && !text.endsWith('\uFFFD')) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return text.slice(prefixText.length);
    }
    return '';
  }
}

export class StopStringFilter {
  private text = '';
  private emitted = 0;
  private readonly maxStop: number;

  constructor(private readonly stops: string[]) {
    this.maxStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Adds text; returns what is safe to emit and whether a stop string was reached. */
  push(piece: string): { delta: string; stopped: boolean } {
    this.text += piece;
    if (this.stops.length === 0) return this.take(this.text.length, false);
    const from = Math.max(0, this.emitted - this.maxStop);
    let hit = -1;
    for (const s of this.stops) {
      const i = this.text.indexOf(s, from);
      if (i !== -1 && (hit === -1 || i < hit)) hit = i;
    }
    if (hit !== -1) return this.take(hit, true);
    return this.take(this.text.length - this.pendingPrefixLength(), false);
  }

  /** Everything not yet emitted (at the end of generation a held-back partial match is real text). */
  flush(): string {
    return this.take(this.text.length, false).delta;
  }

  get fullText(): string {
    return this.text.slice(0, this.emitted);
  }

  /** Length of the longest suffix of the text that is a proper prefix of some stop string. */
  private pendingPrefixLength(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.text.length); n > best; n--) {
        if (this.text.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }

  private take(end: number, stopped: boolean): { delta: string; stopped: boolean } {
    // Never cut between the halves of a surrogate pair.
    if (end > this.emitted && end < this.text.length) {
      const code = this.text.charCodeAt(end - 1);
      if (code >= 0xd800 && code <= 0xdbff) end -= 1;
    }
    const delta = end > this.emitted ? this.text.slice(this.emitted, end) : '';
    this.emitted = Math.max(this.emitted, end);
    if (stopped) this.text = this.text.slice(0, end);
    return { delta, stopped };
  }
}
