// A byte-level BPE tokenizer trained in-process on the embedded corpus, written out as a standard
// Hugging Face tokenizer.json (BPE model + ByteLevel pre-tokenizer/decoder), like GPT-2, Llama-3 or
// Qwen2 tokenizers. Byte-level BPE covers every UTF-8 string, so encode/decode round trips exactly.
import { CORPUS } from './corpus.js';
import { Rng } from '../util/rng.js';
import type { ModelType as TestModelType } from '../onnx/modelDims.js';

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100.. so that every
// token is a printable string (space becomes 'Ġ', newline 'Ċ'). The order here is also the id order
// of the 256 base symbols, as in GPT-2/Qwen2 vocabularies ('!' first).
export const BYTE_ORDER: number[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const printable = new Set(bs);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) bs.push(b);
  return bs;
})();

export const BYTE_TO_UNICODE: string[] = (() => {
  const table = new Array<string>(256);
  let extra = 0;
  for (const b of BYTE_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return table;
})();

// The GPT-2 split regex, exactly what the ByteLevel pre-tokenizer (use_regex: true) applies.
const SPLIT_RE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const utf8 = new TextEncoder();

/** Pre-tokenizes like ByteLevel(add_prefix_space=false, use_regex=true): words as byte-level strings. */
export function byteLevelWords(text: string): string[] {
  return (text.match(SPLIT_RE) ?? []).map((w) => Array.from(utf8.encode(w), (b) => BYTE_TO_UNICODE[b]).join(''));
}

// ---------------------------------------------------------------------------------------------
// Training

/**
 * Pseudo-words used only after the English corpus has no pairs left, so large vocabularies
 * (8192) still consist of real, text-decoding merges instead of thousands of placeholder tokens.
 * Numbers 0..999 are included because real vocabularies have many digit tokens. (Exported for tests.)
 */
export function supplementWords(): string[] {
  const rng = new Rng(0x5eed);
  const onsets = [
    'b',
    'c',
    'd',
    'f',
    'g',
    'h',
    'j',
    'k',
    'l',
    'm',
    'n',
    'p',
    'r',
    's',
    't',
    'v',
    'w',
    'z',
    'br',
    'ch',
    'cl',
    'dr',
    'fl',
    'gr',
    'pl',
    'pr',
    'sh',
    'st',
    'th',
    'tr',
  ];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ee', 'oo', 'ou', 'y'];
  const codas = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'st', 'ng', 'ck'];
  const seen = new Set<string>();
  const words: string[] = [];
  for (let n = 0; n < 1000; n++) words.push(` ${n}`);
  while (words.length < 7000) {
    let w = '';
    const syllables = 1 + rng.int(4);
    for (let s = 0; s < syllables; s++)
      w += onsets[rng.int(onsets.length)] + vowels[rng.int(vowels.length)] + codas[rng.int(codas.length)];
    if (rng.uniform() < 0.15) w = w[0].toUpperCase() + w.slice(1);
    if (rng.uniform() < 0.8) w = ' ' + w;
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

/** Binary max-heap of [count, pairKey]; ties go to the smaller key (deterministic, like HF's trainer). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.keys.length && this.above(l, best)) best = l;
        if (r < this.keys.length && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

export interface TrainedBpe {
  /** Symbol strings by internal id: the 256 byte symbols (BYTE_ORDER order), then one per merge. */
  symbols: string[];
  /** Merges in rank order, as pairs of symbol strings. */
  merges: Array<[string, string]>;
}

// Pair keys a*2^15+b stay below 2^30, V8's small-integer range, which keeps the Maps fast; the
// training data yields ~19k merges, so symbol ids never reach 2^15 (checked in the loop).
const PAIR_SHIFT = 2 ** 15;

/** Larger than any supplement pair count (7000 words x a few occurrences each). */
export const CORPUS_WEIGHT = 100_000;

/**
 * Classic BPE training (most frequent adjacent pair first) over the corpus, then the supplement.
 * Corpus counts are scaled by CORPUS_WEIGHT so every corpus pair outranks every supplement-only pair.
 * Deterministic and greedy, so a shorter run is a prefix of a longer one.
 */
function train(maxMerges: number): TrainedBpe {
  const symbols = BYTE_ORDER.map((b) => BYTE_TO_UNICODE[b]);
  const idOf = new Map<string, number>(symbols.map((s, i) => [s, i]));
  const wordCounts = new Map<string, number>();
  for (const w of byteLevelWords(CORPUS)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + CORPUS_WEIGHT);
  for (const w of supplementWords().flatMap(byteLevelWords)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);

  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    words.push(Array.from(w, (ch) => idOf.get(ch)!));
    counts.push(c);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const delta = new Map<number, number>();
  const bump = (x: number, y: number, by: number, wi: number): void => {
    const key = x * PAIR_SHIFT + y;
    delta.set(key, (delta.get(key) ?? 0) + by);
    if (by > 0) {
      let set = pairWords.get(key);
      if (!set) pairWords.set(key, (set = new Set()));
      set.add(wi);
    }
  };
  // Applies the pending count changes; only changed pairs get a (new) heap entry, older ones go stale.
  const flush = (): void => {
    for (const [key, d] of delta) {
      if (d === 0) continue;
      const c = (pairCount.get(key) ?? 0) + d;
      pairCount.set(key, c);
      if (c > 0) heap.push(c, key);
    }
    delta.clear();
  };
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) bump(w[i], w[i + 1], counts[wi], wi);
  }
  flush();

  const merges: Array<[string, string]> = [];
  while (merges.length < maxMerges && heap.size > 0 && symbols.length < PAIR_SHIFT) {
    const [c, key] = heap.pop();
    if (pairCount.get(key) !== c) continue; // stale heap entry
    const a = Math.floor(key / PAIR_SHIFT);
    const b = key % PAIR_SHIFT;
    const merged = symbols.length;
    symbols.push(symbols[a] + symbols[b]);
    merges.push([symbols[a], symbols[b]]);
    for (const wi of pairWords.get(key) ?? []) {
      const w = words[wi];
      const n = counts[wi];
      let out: number[] | null = null;
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          // Only the neighbours of each occurrence change (as in HF's Word::merge). When two
          // occurrences touch, the (merged, a) bump of the first cancels against the second.
          out ??= w.slice(0, i);
          bump(a, b, -n, wi);
          if (out.length > 0) {
            bump(out[out.length - 1], a, -n, wi);
            bump(out[out.length - 1], merged, n, wi);
          }
          if (i + 2 < w.length) {
            bump(b, w[i + 2], -n, wi);
            bump(merged, w[i + 2], n, wi);
          }
          out.push(merged);
          i++;
        } else if (out) out.push(w[i]);
      }
      if (out) words[wi] = out; // null: the word lost this pair in an earlier merge
    }
    pairWords.delete(key);
    flush();
  }
  return { symbols, merges };
}

let trainedCache: { bpe: TrainedBpe; exhausted: boolean } | null = null;

/** The first `n` merges (fewer if the training data runs out), cached for the process. */
export function trainedMerges(n: number): TrainedBpe {
  if (!trainedCache || (trainedCache.bpe.merges.length < n && !trainedCache.exhausted)) {
    const target = Math.max(n, 8192);
    const bpe = train(target);
    trainedCache = { bpe, exhausted: bpe.merges.length < target };
  }
  const { symbols, merges } = trainedCache.bpe;
  const k = Math.min(n, merges.length);
  return { symbols: symbols.slice(0, 256 + k), merges: merges.slice(0, k) };
}

// ---------------------------------------------------------------------------------------------
// HF files

interface SpecialLayout {
  /** Special tokens in id order. */
  specials: string[];
  /** true: specials take ids 0.. and are also in model.vocab (Llama/Gemma); false: they follow the BPE vocab (GPT-2/Qwen2). */
  specialsFirst: boolean;
  bos: string | null;
  eos: string;
  pad: string;
  unk: string | null;
  tokenizerClass: string;
  extraSpecials: string[];
}

const LAYOUTS: Record<TestModelType, SpecialLayout> = {
  llama: {
    specials: ['<pad>', '<s>', '</s>', '<unk>'],
    specialsFirst: true,
    bos: '<s>',
    eos: '</s>',
    pad: '<pad>',
    unk: '<unk>',
    tokenizerClass: 'PreTrainedTokenizerFast',
    extraSpecials: [],
  },
  gemma: {
    specials: ['<pad>', '<eos>', '<bos>', '<unk>'],
    specialsFirst: true,
    bos: '<bos>',
    eos: '<eos>',
    pad: '<pad>',
    unk: '<unk>',
    tokenizerClass: 'GemmaTokenizer',
    extraSpecials: [],
  },
  qwen2: {
    specials: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
    specialsFirst: false,
    bos: null,
    eos: '<|endoftext|>',
    pad: '<|endoftext|>',
    unk: null,
    tokenizerClass: 'Qwen2Tokenizer',
    extraSpecials: ['<|im_start|>', '<|im_end|>'],
  },
};

export interface TokenizerFiles {
  /** tokenizer.json text (pretty-printed, vocab in id order). */
  tokenizerJson: string;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
  vocabSize: number;
  bosTokenId: number | null;
  eosTokenId: number;
  padTokenId: number;
  unkTokenId: number | null;
  /** Number of placeholder tokens that had to pad the vocabulary (0 unless it is very large). */
  fillerTokens: number;
}

function addedToken(id: number, content: string, special: boolean): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

function tokenEntry(content: string): Record<string, unknown> {
  return { content, lstrip: false, normalized: false, rstrip: false, single_word: false };
}

/** Builds tokenizer.json / tokenizer_config.json / special_tokens_map.json for a model type. */
export function buildTokenizerFiles(type: TestModelType, vocabSize: number, modelMaxLength: number): TokenizerFiles {
  const L = LAYOUTS[type];
  const wantMerges = vocabSize - L.specials.length - 256;
  if (wantMerges < 0) throw new Error(`vocabSize ${vocabSize} is too small: need at least ${L.specials.length + 256}`);
  const { symbols, merges } = trainedMerges(wantMerges);
  const fillers = wantMerges - merges.length;

  // Assign ids: [specials] + bytes + merges + fillers, or bytes + merges + fillers + [specials].
  const base = L.specialsFirst ? L.specials.length : 0;
  const vocabEntries: Array<[string, number]> = [];
  if (L.specialsFirst) L.specials.forEach((s, i) => vocabEntries.push([s, i]));
  symbols.forEach((s, i) => vocabEntries.push([s, base + i]));
  const added: Array<Record<string, unknown>> = [];
  if (L.specialsFirst) L.specials.forEach((s, i) => added.push(addedToken(i, s, true)));
  const fillerStart = base + symbols.length;
  for (let i = 0; i < fillers; i++) added.push(addedToken(fillerStart + i, `<unused_${i}>`, true));
  const specialStart = fillerStart + fillers;
  if (!L.specialsFirst) L.specials.forEach((s, i) => added.push(addedToken(specialStart + i, s, true)));
  const idOf = (s: string): number => (L.specialsFirst ? L.specials.indexOf(s) : specialStart + L.specials.indexOf(s));

  const bosId = L.bos === null ? null : idOf(L.bos);
  const postProcessor =
    L.bos === null
      ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }
      : {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: L.bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: L.bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: L.bos, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [L.bos]: { id: L.bos, ids: [bosId], tokens: [L.bos] } },
        };
  const VOCAB_PLACEHOLDER = '@@VOCAB@@';
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: L.unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: VOCAB_PLACEHOLDER,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  // JSON objects put integer-like keys ("12") first; write the vocab by hand to keep id order.
  const vocabJson = '{\n' + vocabEntries.map(([s, id]) => `      ${JSON.stringify(s)}: ${id}`).join(',\n') + '\n    }';
  const tokenizerJson = JSON.stringify(tokenizer, null, 2).replace(JSON.stringify(VOCAB_PLACEHOLDER), () => vocabJson);

  const addedDecoder: Record<string, unknown> = {};
  for (const t of added) {
    const { id, ...rest } = t;
    addedDecoder[String(id)] = rest;
  }
  const tokenizerConfig: Record<string, unknown> = {
    add_bos_token: L.bos !== null,
    add_eos_token: false,
    added_tokens_decoder: addedDecoder,
    ...(L.extraSpecials.length ? { additional_special_tokens: L.extraSpecials } : {}),
    bos_token: L.bos,
    clean_up_tokenization_spaces: false,
    eos_token: L.eos,
    model_max_length: modelMaxLength,
    pad_token: L.pad,
    tokenizer_class: L.tokenizerClass,
    unk_token: L.unk,
  };
  const specialTokensMap: Record<string, unknown> = {
    ...(L.extraSpecials.length ? { additional_special_tokens: L.extraSpecials } : {}),
    ...(L.bos !== null ? { bos_token: tokenEntry(L.bos) } : {}),
    eos_token: tokenEntry(L.eos),
    pad_token: tokenEntry(L.pad),
    ...(L.unk !== null ? { unk_token: tokenEntry(L.unk) } : {}),
  };
  const total = L.specials.length + symbols.length + fillers;
  if (total !== vocabSize) throw new Error(`internal: tokenizer has ${total} ids, wanted ${vocabSize}`);
  return {
    tokenizerJson,
    tokenizerConfig,
    specialTokensMap,
    vocabSize: total,
    bosTokenId: bosId,
    eosTokenId: idOf(L.eos),
    padTokenId: idOf(L.pad),
    unkTokenId: L.unk === null ? null : idOf(L.unk),
    fillerTokens: fillers,
  };
}
