// How the scheduler sees a model's KV cache, whatever the ONNX layout keeps it in.
// Two backends: `optimum` (Hugging Face Optimum graphs: the graph returns the whole cache each step)
// and `fast` (our layout: the engine owns the cache buffers, the graph returns only new keys/values).

/** One sequence's cache. `length` = tokens whose keys/values are cached. */
export interface CacheSlot {
  readonly id: number;
  length: number;
}

export interface KvBackend {
  readonly layout: 'optimum' | 'fast';
  readonly vocabSize: number;
  /** Whether decode() takes more than one token per row (speculative verification) and truncate() works. */
  readonly multiToken: boolean;
  createSlot(): CacheSlot;
  /**
   * Feeds `ids` for a sequence outside the decode batch; returns the logits of its last n positions,
   * [n, vocab], where n >= ids.length - logitsFrom: a prefill needs only its last token's, and a
   * backend whose graph can skip the output layer elsewhere returns just those (others return all).
   */
  extend(slot: CacheSlot, ids: number[], logitsFrom?: number): Promise<Float32Array>;
  /** Makes the decode batch exactly `slots`, in this order: new slots join, absent ones leave it. */
  setBatch(slots: CacheSlot[]): void;
  /** Feeds tokens[r] (the same count for every row) to batch row r; returns logits [rows, count, vocab]. */
  decode(tokens: number[][]): Promise<Float32Array>;
  /** Drops cached positions from `length` on (rejected speculative tokens); multiToken backends only. */
  truncate(slot: CacheSlot, length: number): void;
  /** Frees a slot's memory (finished or cancelled sequence). */
  release(slot: CacheSlot): void;
  close(): Promise<void>;
}
