// Continuous batching over one decoder: requests wait in a bounded queue, are prefilled one chunk
// at a time (so a long prompt never stalls running requests for long, and cancelling a prefill takes
// effect at the next chunk), then join the decode batch; they leave it the moment they finish or
// are cancelled. Every step yields to the event loop so cancel and new requests are seen at once.
import { ErrorCodes } from '../protocol/index.js';
import type { FinishReason } from '../protocol/index.js';
import { EngineError } from './api.js';
import type { CacheSlot, KvBackend } from './kv/backend.js';
import { applyRepetitionPenalty, sampleToken } from './sampler.js';
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
  detokenizer: IncrementalDecoder;
  stopFilter: StopStringFilter;
  cancelled: boolean;
  done: boolean;
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
}

export interface SequenceHandle {
  result: Promise<SequenceResult>;
  cancel: () => void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Scheduler {
  private readonly waiting: Sequence[] = [];
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

  get activeCount(): number {
    return this.rows.length + this.joining.length + (this.prefilling ? 1 : 0);
  }

  submit(req: SequenceRequest): SequenceHandle {
    if (this.waiting.length >= this.opts.maxQueue) {
      throw new EngineError(ErrorCodes.Overloaded, `server busy: ${this.waiting.length} requests are already queued`, {
        queueLength: this.waiting.length,
        maxQueue: this.opts.maxQueue,
      });
    }
    let seq!: Sequence;
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
        detokenizer: new IncrementalDecoder(this.opts.decode),
        stopFilter: new StopStringFilter(req.stops),
        cancelled: false,
        done: false,
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

  /** Rejects everything pending (model unload or shutdown). */
  abortAll(reason: Error): void {
    for (const seq of [...this.waiting, ...this.joining, ...this.rows, ...(this.prefilling ? [this.prefilling] : [])]) {
      if (!seq.done) {
        seq.done = true;
        seq.reject(reason);
      }
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
      if (!this.prefilling && this.rows.length === 0 && this.joining.length === 0) return;
      const prefill = this.prefilling;
      try {
        if (prefill) await this.prefillChunk(prefill);
        this.regroup();
        if (this.rows.length > 0) await this.decodeStep();
      } catch (err) {
        // A failing session run fails the requests it touched, never the server.
        const error = err instanceof EngineError ? err : new EngineError(ErrorCodes.InternalError, `inference failed: ${(err as Error).message}`);
        for (const seq of [...this.rows, ...this.joining, ...(prefill ? [prefill] : [])]) {
          if (!seq.done) {
            seq.done = true;
            seq.reject(error);
          }
        }
        for (const seq of [...this.rows, ...this.joining, ...(prefill ? [prefill] : [])]) this.backend.release(seq.slot);
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
    const logits = await this.backend.extend(seq.slot, ids);
    seq.prefilled += ids.length;
    seq.prefillMs += performance.now() - t0;
    if (seq.prefilled < seq.promptIds.length) return;
    this.prefilling = null;
    if (seq.cancelled) return this.finish(seq, 'cancelled');
    const vocab = this.backend.vocabSize;
    const last = logits.slice((ids.length - 1) * vocab, ids.length * vocab);
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
    const logits = await this.backend.decode(this.rows.map((s) => [s.generated[s.generated.length - 1]!]));
    const elapsed = performance.now() - t0;
    const vocab = this.backend.vocabSize;
    this.rows.forEach((seq, r) => {
      seq.decodeMs += elapsed;
      if (seq.done) return;
      if (seq.cancelled) return this.finish(seq, 'cancelled');
      this.accept(seq, logits.slice(r * vocab, (r + 1) * vocab));
    });
  }

  /** Chooses the next token from `logits`, streams its text; returns true when the sequence ended. */
  private accept(seq: Sequence, logits: Float32Array): boolean {
    applyRepetitionPenalty(logits, seq.seen, seq.sampling.repetitionPenalty);
    const id = sampleToken(logits, seq.sampling, seq.random);
    if (this.eos.has(id)) {
      this.emit(seq, seq.stopFilter.flush());
      this.finish(seq, 'stop');
      return true;
    }
    seq.generated.push(id);
    seq.seen.add(id);
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
    });
  }
}
