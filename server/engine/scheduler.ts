// Continuous batching over one decoder: requests wait in a bounded queue, are prefilled one chunk
// at a time (so a long prompt never stalls running requests for long, and cancelling a prefill takes
// effect at the next chunk), then join the decode batch; they leave it the moment they finish or
// are cancelled. Scoring runs one chunk per step too. Every step yields to the event loop so cancel
// and new requests are seen at once.
import { ErrorCodes } from '../protocol/index.js';
import type { FinishReason } from '../protocol/index.js';
import { EngineError } from './api.js';
import type { CacheSlot, KvBackend } from './kv/backend.js';
import { applyRepetitionPenalty, sampleToken, verifyDraftToken } from './sampler.js';
import { LoopGuard } from './loopGuard.js';
import { PromptLookupDrafter } from './speculation.js';
import type { SamplingConfig } from './sampler.js';
import { IncrementalDecoder, StopStringFilter } from './textStream.js';

export interface SequenceRequest {
  promptIds: number[];
  maxNewTokens: number;
  sampling: SamplingConfig;
  random: () => number;
  stops: string[];
  onDelta: (delta: string, completionTokens: number) => void;
}

export interface SequenceResult {
  text: string;
  tokenIds: number[];
  finishReason: FinishReason;
  promptTokens: number;
  queueMs: number;
  prefillMs: number;
  decodeMs: number;
  firstTokenMs: number | null;
  draftTokens: number;
  acceptedDraftTokens: number;
}

interface Sequence extends SequenceRequest {
  arrivedAt: number;
  startedAt: number;
  prefillMs: number;
  decodeMs: number;
  firstTokenAt: number | null;
  prefilled: number;
  slot: CacheSlot;
  generated: number[];
  seen: Set<number>;
  loopGuard: LoopGuard | null;
  detokenizer: IncrementalDecoder;
  stopFilter: StopStringFilter;
  cancelled: boolean;
  done: boolean;
  drafter: PromptLookupDrafter | null;
  resolve: (r: SequenceResult) => void;
  reject: (e: unknown) => void;
}

export interface SchedulerOptions {
  maxBatch: number;
  maxQueue: number;
  /** Prompt tokens per prefill chunk (bounded further by the logits buffer it implies). */
  prefillChunk: number;
  decode: (ids: number[]) => string;
  eosTokenIds: number[];
  contextLength: number;
  /** Prompt-lookup speculation (multi-token backends only) while at most this many rows decode; 0 = off. */
  speculationMaxBatch: number;
}

export interface SequenceHandle {
  result: Promise<SequenceResult>;
  cancel: () => void;
}

interface ScoreJob {
  ids: number[];
  from: number;
  resolve: (r: ScoreResult) => void;
  reject: (e: unknown) => void;
  /** The job's cache while it is scored, and how far: one chunk per scheduler step. */
  slot: CacheSlot | null;
  next: number;
  logprob: number;
}

export interface ScoreResult {
  /** Sum of log-probabilities of ids[from..] given what precedes them. */
  logprob: number;
  tokens: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Scheduler {
  private readonly waiting: Sequence[] = [];
  private readonly scoring: ScoreJob[] = [];
  private prefilling: Sequence | null = null;
  private rows: Sequence[] = [];
  private joining: Sequence[] = [];
  private running = false;
  private readonly eos: Set<number>;
  private readonly chunk: number;

  constructor(
    private readonly backend: KvBackend,
    private readonly opts: SchedulerOptions,
  ) {
    this.eos = new Set(opts.eosTokenIds);
    // Prefill returns logits for every chunk position: keep that buffer near 64 MiB for big vocabularies.
    const byLogits = Math.floor((64 * 1024 * 1024) / (4 * backend.vocabSize));
    this.chunk = Math.max(1, Math.min(opts.prefillChunk, byLogits));
  }

  get queueLength(): number {
    return this.waiting.length;
  }

  /** Requests being worked on; finished rows that regroup() has yet to drop do not count. */
  get activeCount(): number {
    const live = (seqs: Sequence[]) => seqs.filter((s) => !s.done).length;
    const prefilling = this.prefilling && !this.prefilling.done ? 1 : 0;
    const scoring = this.scoring[0]?.slot ? 1 : 0;
    return live(this.rows) + live(this.joining) + prefilling + scoring;
  }

  submit(req: SequenceRequest): SequenceHandle {
    if (this.waiting.length >= this.opts.maxQueue) {
      throw new EngineError(ErrorCodes.Overloaded, `server busy: ${this.waiting.length} requests are already queued`, {
        queueLength: this.waiting.length,
        maxQueue: this.opts.maxQueue,
      });
    }
    let seq!: Sequence;
    const opts = this.opts;
    const result = new Promise<SequenceResult>((resolve, reject) => {
      const now = performance.now();
      seq = {
        ...req,
        arrivedAt: now,
        startedAt: now,
        prefillMs: 0,
        decodeMs: 0,
        firstTokenAt: null,
        prefilled: 0,
        slot: this.backend.createSlot(),
        generated: [],
        seen: new Set(req.promptIds),
        loopGuard: req.sampling.loopGuard > 0 ? new LoopGuard(req.sampling.loopGuard, req.promptIds) : null,
        detokenizer: new IncrementalDecoder(this.opts.decode),
        stopFilter: new StopStringFilter(req.stops),
        cancelled: false,
        done: false,
        drafter:
          this.backend.multiToken && opts.speculationMaxBatch > 0 ? new PromptLookupDrafter(req.promptIds) : null,
        resolve,
        reject,
      };
    });
    this.waiting.push(seq);
    this.kick();
    return {
      result,
      cancel: () => {
        if (seq.done) return;
        seq.cancelled = true;
        const i = this.waiting.indexOf(seq);
        if (i !== -1) {
          this.waiting.splice(i, 1);
          this.finish(seq, 'cancelled');
        }
      },
    };
  }

  /** Log-likelihood of ids[from..] given ids[..from] (for preference judging), run between decode steps. */
  score(ids: number[], from: number): Promise<ScoreResult> {
    if (this.scoring.length >= this.opts.maxQueue) {
      return Promise.reject(new EngineError(ErrorCodes.Overloaded, 'server busy: too many scoring requests queued'));
    }
    return new Promise((resolve, reject) => {
      this.scoring.push({ ids, from, resolve, reject, slot: null, next: 0, logprob: 0 });
      this.kick();
    });
  }

  /** Scores one chunk of the first scoring job, so decoding rows and cancels wait one chunk at most. */
  private async scoreChunk(job: ScoreJob): Promise<void> {
    const slot = (job.slot ??= this.backend.createSlot());
    const done = () => {
      if (this.scoring[0] !== job) return; // abortAll() already took it out and freed its slot
      this.scoring.shift();
      this.backend.release(slot);
    };
    try {
      const vocab = this.backend.vocabSize;
      const start = job.next;
      const part = job.ids.slice(start, start + this.chunk);
      // Position j predicts token start + j + 1: only those from job.from on count.
      const logits = await this.backend.extend(slot, part, Math.max(0, job.from - start - 1));
      const skipped = part.length - logits.length / vocab;
      for (let j = skipped; j < part.length; j++) {
        const target = start + j + 1;
        if (target < job.from || target >= job.ids.length) continue;
        const row = logits.subarray((j - skipped) * vocab, (j - skipped + 1) * vocab);
        let max = -Infinity;
        for (let v = 0; v < vocab; v++) if (row[v]! > max) max = row[v]!;
        let sum = 0;
        for (let v = 0; v < vocab; v++) sum += Math.exp(row[v]! - max);
        job.logprob += row[job.ids[target]!]! - max - Math.log(sum);
      }
      job.next = start + part.length;
      if (job.next < job.ids.length - 1) return;
      done();
      job.resolve({ logprob: job.logprob, tokens: job.ids.length - job.from });
    } catch (err) {
      done();
      job.reject(err);
    }
  }

  /** Rejects everything pending (model unload or shutdown). */
  abortAll(reason: Error): void {
    for (const seq of [...this.waiting, ...this.joining, ...this.rows, ...(this.prefilling ? [this.prefilling] : [])]) {
      if (!seq.done) {
        seq.done = true;
        seq.reject(reason);
      }
    }
    for (const job of this.scoring.splice(0)) {
      if (job.slot) this.backend.release(job.slot);
      job.reject(reason);
    }
    this.waiting.length = 0;
    this.joining = [];
    this.rows = [];
    this.prefilling = null;
    this.backend.setBatch([]);
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (!this.prefilling && this.waiting.length > 0 && this.rows.length + this.joining.length < this.opts.maxBatch) {
        this.prefilling = this.waiting.shift()!;
        this.prefilling.startedAt = performance.now();
      }
      if (!this.prefilling && this.rows.length === 0 && this.joining.length === 0 && this.scoring.length === 0) return;
      const prefill = this.prefilling;
      const scoreJob = this.scoring[0];
      if (scoreJob) await this.scoreChunk(scoreJob);
      try {
        if (prefill) await this.prefillChunk(prefill);
        this.regroup();
        if (this.rows.length > 0) await this.decodeStep();
      } catch (err) {
        // A failing session run fails the requests it touched, never the server.
        const error =
          err instanceof EngineError
            ? err
            : new EngineError(ErrorCodes.InternalError, `inference failed: ${(err as Error).message}`);
        for (const seq of [...this.rows, ...this.joining, ...(prefill ? [prefill] : [])]) {
          if (!seq.done) {
            seq.done = true;
            seq.reject(error);
          }
        }
        for (const seq of [...this.rows, ...this.joining, ...(prefill ? [prefill] : [])])
          this.backend.release(seq.slot);
        this.rows = [];
        this.joining = [];
        this.prefilling = null;
        this.backend.setBatch([]);
      }
      await yieldToEventLoop();
    }
  }

  private async prefillChunk(seq: Sequence): Promise<void> {
    if (seq.cancelled) {
      this.prefilling = null;
      this.finish(seq, 'cancelled');
      return;
    }
    const t0 = performance.now();
    const ids = seq.promptIds.slice(seq.prefilled, seq.prefilled + this.chunk);
    const logits = await this.backend.extend(seq.slot, ids, ids.length - 1);
    seq.prefilled += ids.length;
    seq.prefillMs += performance.now() - t0;
    if (seq.prefilled < seq.promptIds.length) return;
    this.prefilling = null;
    if (seq.cancelled) return this.finish(seq, 'cancelled');
    const vocab = this.backend.vocabSize;
    const last = logits.slice(logits.length - vocab);
    if (!this.accept(seq, last)) this.joining.push(seq);
  }

  /** Drops finished or cancelled rows and adds newly prefilled ones to the decode batch. */
  private regroup(): void {
    for (const seq of [...this.rows, ...this.joining]) if (seq.cancelled && !seq.done) this.finish(seq, 'cancelled');
    const next = [...this.rows.filter((s) => !s.done), ...this.joining.filter((s) => !s.done)];
    this.joining = [];
    if (next.length === this.rows.length && next.every((s, i) => s === this.rows[i])) return;
    const leaving = this.rows.filter((s) => s.done);
    this.rows = next;
    this.backend.setBatch(next.map((s) => s.slot));
    for (const s of leaving) this.backend.release(s.slot);
  }

  private async decodeStep(): Promise<void> {
    const t0 = performance.now();
    const speculate = this.rows.length <= this.opts.speculationMaxBatch;
    const drafts = this.rows.map((seq) =>
      speculate && seq.drafter ? seq.drafter.propose(seq.generated, this.draftLimit(seq)) : [],
    );
    const width = 1 + drafts.reduce((m, d) => Math.max(m, d.length), 0);
    // Rows with shorter drafts are padded with their last token; what the padding computes is dropped.
    const tokens = this.rows.map((seq, r) => {
      const last = seq.generated[seq.generated.length - 1]!;
      const row = [last, ...drafts[r]!];
      while (row.length < width) row.push(last);
      return row;
    });
    const logits = await this.backend.decode(tokens);
    const elapsed = performance.now() - t0;
    const vocab = this.backend.vocabSize;
    this.rows.forEach((seq, r) => {
      seq.decodeMs += elapsed;
      if (seq.done) return;
      if (seq.cancelled) return this.finish(seq, 'cancelled');
      const at = (j: number) => logits.slice((r * width + j) * vocab, (r * width + j + 1) * vocab);
      const draft = drafts[r]!;
      const cachedBefore = seq.slot.length - width;
      let accepted = 0;
      let ended = false;
      let rejected = false;
      for (let j = 0; j < draft.length && !ended; j++) {
        const l = at(j);
        this.process(seq, l);
        const v = verifyDraftToken(l, draft[j]!, seq.sampling, seq.random);
        ended = this.take(seq, v.token);
        if (!v.accepted) {
          rejected = true;
          break;
        }
        accepted++;
      }
      if (!ended && !rejected) this.accept(seq, at(draft.length));
      seq.drafter?.record(draft.length, accepted);
      // Keys/values of rejected drafts and padding are dropped: the cache holds the fed last token + accepted drafts.
      if (width > 1 && !seq.done) this.backend.truncate(seq.slot, cachedBefore + 1 + accepted);
    });
  }

  /** Most draft tokens a row may verify: within max_new_tokens and the context window. */
  private draftLimit(seq: Sequence): number {
    return Math.min(seq.maxNewTokens - seq.generated.length - 1, this.opts.contextLength - seq.slot.length - 1);
  }

  /** Chooses the next token from `logits` and takes it; returns true when the sequence ended. */
  private accept(seq: Sequence, logits: Float32Array): boolean {
    this.process(seq, logits);
    return this.take(seq, sampleToken(logits, seq.sampling, seq.random));
  }

  /** The logits processors, in Hugging Face's order: repetition penalty, then the n-gram ban. */
  private process(seq: Sequence, logits: Float32Array): void {
    applyRepetitionPenalty(logits, seq.seen, seq.sampling.repetitionPenalty);
    seq.loopGuard?.apply(logits, seq.generated);
  }

  /** Appends a chosen token and streams its text; returns true when the sequence ended. */
  private take(seq: Sequence, id: number): boolean {
    if (this.eos.has(id)) {
      this.emit(seq, seq.stopFilter.flush());
      this.finish(seq, 'stop');
      return true;
    }
    seq.generated.push(id);
    seq.seen.add(id);
    seq.loopGuard?.record(seq.generated);
    const { delta, stopped } = seq.stopFilter.push(seq.detokenizer.push(id));
    this.emit(seq, delta);
    if (stopped) {
      this.finish(seq, 'stop');
      return true;
    }
    if (seq.generated.length >= seq.maxNewTokens) {
      this.emit(seq, seq.stopFilter.flush());
      this.finish(seq, 'length');
      return true;
    }
    return false;
  }

  private emit(seq: Sequence, delta: string): void {
    if (!delta) return;
    seq.firstTokenAt ??= performance.now();
    seq.onDelta(delta, seq.generated.length);
  }

  private finish(seq: Sequence, reason: FinishReason): void {
    if (seq.done) return;
    seq.done = true;
    // A row still in the batch keeps its slot until regroup() takes it out.
    if (!this.rows.includes(seq)) this.backend.release(seq.slot);
    seq.resolve({
      text: seq.stopFilter.fullText,
      tokenIds: seq.generated,
      finishReason: reason,
      promptTokens: seq.promptIds.length,
      queueMs: seq.startedAt - seq.arrivedAt,
      prefillMs: seq.prefillMs,
      decodeMs: seq.decodeMs,
      firstTokenMs: seq.firstTokenAt === null ? null : seq.firstTokenAt - seq.arrivedAt,
      draftTokens: seq.drafter?.drafted ?? 0,
      acceptedDraftTokens: seq.drafter?.accepted ?? 0,
    });
  }
}
