// Engine-owned KV memory for the fast layout: per layer one [rows, kvHeads, capacity, headDim]
// Float32Array for keys and one for values. Rows are sequences; a row's first `length` positions
// are valid. Memory per cached position is exactly 2 x layers x kvHeads x headDim x 4 bytes; the
// buffer holds some spare rows and positions (the growth slack in ensure()).

/** Capacity grows in steps of this many positions: fewer re-allocations, little masked work. */
export const CAPACITY_STEP = 64;

export interface CacheShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

export class KvBuffer {
  keys: Float32Array[] = [];
  values: Float32Array[] = [];
  rows = 0;
  capacity = 0;

  constructor(readonly shape: CacheShape) {}

  /** Makes room for `rows` rows of `needed` positions, keeping the first `lengths[r]` positions of each row. */
  ensure(rows: number, needed: number, lengths: number[]): void {
    if (rows <= this.rows && needed <= this.capacity) return;
    // Positions grow in small steps: the fast graph reads the whole capacity every step, so slack
    // costs attention work each step, while a growth copy comes once per CAPACITY_STEP tokens. Rows
    // grow by half: requests join one at a time, and each growth copies the whole buffer.
    const capacity = needed <= this.capacity ? this.capacity : roundUp(needed, CAPACITY_STEP);
    const grownRows = rows <= this.rows ? this.rows : Math.max(rows, Math.ceil(this.rows * 1.5));
    this.reallocate(grownRows, capacity, lengths);
  }

  /** Gives memory back when the longest row needs far less than the capacity (attention work scales with it). */
  shrinkTo(rows: number, needed: number, lengths: number[]): void {
    const capacity = roundUp(Math.max(needed, 1), CAPACITY_STEP);
    if (capacity * 2 <= this.capacity || rows * 2 < this.rows) this.reallocate(rows, capacity, lengths);
  }

  private reallocate(rows: number, capacity: number, lengths: number[]): void {
    const { layers, kvHeads, headDim } = this.shape;
    const size = rows * kvHeads * capacity * headDim;
    const keys = Array.from({ length: layers }, () => new Float32Array(size));
    const values = Array.from({ length: layers }, () => new Float32Array(size));
    for (let r = 0; r < Math.min(lengths.length, rows, this.rows); r++) {
      for (let l = 0; l < layers; l++) {
        copyPositions(this.keys[l]!, r, this.capacity, keys[l]!, r, capacity, 0, lengths[r]!, this.shape);
        copyPositions(this.values[l]!, r, this.capacity, values[l]!, r, capacity, 0, lengths[r]!, this.shape);
      }
    }
    this.keys = keys;
    this.values = values;
    this.rows = rows;
    this.capacity = capacity;
  }

  /** Copies positions [0, length) of row `fromRow` of `src` into row `toRow` here. */
  copyRowFrom(src: KvBuffer, fromRow: number, toRow: number, length: number): void {
    for (let l = 0; l < this.shape.layers; l++) {
      copyPositions(src.keys[l]!, fromRow, src.capacity, this.keys[l]!, toRow, this.capacity, 0, length, this.shape);
      copyPositions(
        src.values[l]!,
        fromRow,
        src.capacity,
        this.values[l]!,
        toRow,
        this.capacity,
        0,
        length,
        this.shape,
      );
    }
  }

  /** Writes a step's new keys/values ([batch, kvHeads, seq, headDim] per layer) for `batchRow` at `position`. */
  writeNew(
    newKeys: Float32Array[],
    newValues: Float32Array[],
    batchRow: number,
    seq: number,
    row: number,
    position: number,
  ): void {
    for (let l = 0; l < this.shape.layers; l++) {
      copyPositions(newKeys[l]!, batchRow, seq, this.keys[l]!, row, this.capacity, position, seq, this.shape);
      copyPositions(newValues[l]!, batchRow, seq, this.values[l]!, row, this.capacity, position, seq, this.shape);
    }
  }
}

const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;

/** Copies `count` positions of one row between [rows, kvHeads, capacity, headDim] arrays, head by head. */
function copyPositions(
  src: Float32Array,
  srcRow: number,
  srcCapacity: number,
  dst: Float32Array,
  dstRow: number,
  dstCapacity: number,
  dstPosition: number,
  count: number,
  { kvHeads, headDim }: CacheShape,
): void {
  if (count <= 0) return;
  for (let h = 0; h < kvHeads; h++) {
    const s = (srcRow * kvHeads + h) * srcCapacity * headDim;
    const d = ((dstRow * kvHeads + h) * dstCapacity + dstPosition) * headDim;
    dst.set(src.subarray(s, s + count * headDim), d);
  }
}
