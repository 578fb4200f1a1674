// Typed access to a GGUF file's metadata: a key of the wrong type is refused by name, since the
// header parser accepts any well-formed value for any key.
import { GgufError, type GgufFile, type GgufValue } from './ggufFile.js';

export class Metadata {
  constructor(
    private readonly values: Map<string, GgufValue>,
    readonly file: string,
  ) {}

  static of(gguf: GgufFile): Metadata {
    return new Metadata(gguf.metadata, gguf.path);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  private fail(key: string, want: string): never {
    throw new GgufError(`${this.file}: metadata ${key} should be ${want}`);
  }

  str(key: string): string | undefined {
    const v = this.values.get(key);
    if (v === undefined || typeof v === 'string') return v;
    return this.fail(key, 'a string');
  }

  num(key: string): number | undefined {
    const v = this.values.get(key);
    if (v === undefined || typeof v === 'number') return v;
    return this.fail(key, 'a number');
  }

  /** A non-negative integer that fits a JS number (ids, sizes, counts). */
  int(key: string): number | undefined {
    const v = this.num(key);
    if (v === undefined || (Number.isSafeInteger(v) && v >= 0)) return v;
    return this.fail(key, 'a non-negative integer');
  }

  bool(key: string): boolean | undefined {
    const v = this.values.get(key);
    if (v === undefined || typeof v === 'boolean') return v;
    return this.fail(key, 'a bool');
  }

  strings(key: string): string[] | undefined {
    const v = this.values.get(key);
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    return this.fail(key, 'an array of strings');
  }

  /** A numeric array (any integer or float item type) as plain numbers. */
  numbers(key: string): ArrayLike<number> | undefined {
    const v = this.values.get(key);
    if (v === undefined) return undefined;
    if (ArrayBuffer.isView(v) && !(v instanceof BigInt64Array || v instanceof BigUint64Array))
      return v as ArrayLike<number>;
    return this.fail(key, 'an array of numbers');
  }
}
