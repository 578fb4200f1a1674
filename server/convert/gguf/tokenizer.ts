// tokenizer.json and tokenizer_config.json from a GGUF file's tokenizer.ggml.* metadata, for the two
// families llama.cpp stores: "gpt2" (byte-level BPE with merges, split by the regexes its
// tokenizer.ggml.pre names) and "llama" (SentencePiece BPE with scores and byte fallback). The layout
// follows what transformers builds from the same file, so the ids agree; where transformers ignores
// the file's pre-tokenizer (e.g. "smollm"'s one-digit numbers) we follow the file, as llama.cpp does.
import { GgufError } from './ggufFile.js';
import type { Metadata } from './metadata.js';

type Json = Record<string, unknown>;

/** llama.cpp's token types (tokenizer.ggml.token_type). */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

// Split regexes by tokenizer.ggml.pre, as llama.cpp's llama-vocab.cpp and transformers' gguf tokenizer
// mapping spell them. A pre-tokenizer not listed gets GPT-2's split (ByteLevel's own regex; what
// transformers does too).
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" +
  '| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN_SPLIT =
  '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+' +
  '|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*' +
  '|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const GPT4O_SPLIT =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
  "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
  '|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

/** One regex split, then byte-level mapping without the GPT-2 regex. */
const PRE_SPLITS: Record<string, string> = Object.fromEntries([
  ...[
    'llama3',
    'llama-v3',
    'llama-bpe',
    'falcon3',
    'falcon-h1',
    'pixtral',
    'midm-2.0',
    'lfm2',
    'dbrx',
    'smaug-bpe',
  ].map((p) => [p, LLAMA3_SPLIT]),
  ...['qwen2', 'deepseek-r1-qwen', 'kormo', 'megrez'].map((p) => [p, QWEN2_SPLIT]),
  ['tekken', TEKKEN_SPLIT],
  ...['gpt-4o', 'llama4', 'minimax-m2'].map((p) => [p, GPT4O_SPLIT]),
]);

/** Every digit on its own, then GPT-2's split (llama.cpp's "\p{N}" + GPT-2 regex group). */
const DIGIT_SPLIT_PRES = new Set(['smollm', 'starcoder', 'refact', 'command-r', 'codeshell', 'exaone', 'minerva']);
/** Plain GPT-2 split. */
const GPT2_PRES = new Set(['default', 'gpt2', 'gpt-2', 'phi-2', 'jina-es', 'jina-de', 'roberta-bpe', 'olmo']);

const byteLevel = (useRegex: boolean) => ({
  type: 'ByteLevel',
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: useRegex,
});
const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

/** The pre_tokenizer for a "gpt2" vocabulary, and whether the pre name was one we know. */
function gpt2PreTokenizer(pre: string): { preTokenizer: Json; known: boolean } {
  if (pre in PRE_SPLITS)
    return {
      preTokenizer: { type: 'Sequence', pretokenizers: [split(PRE_SPLITS[pre]), byteLevel(false)] },
      known: true,
    };
  if (DIGIT_SPLIT_PRES.has(pre))
    return { preTokenizer: { type: 'Sequence', pretokenizers: [split('\\p{N}'), byteLevel(true)] }, known: true };
  return { preTokenizer: byteLevel(true), known: GPT2_PRES.has(pre) };
}

/** GPT-2's printable stand-ins for bytes (bytes_to_unicode): the alphabet byte-level tokens are spelled in. */
function bytesToUnicode(): string[] {
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table.push(String.fromCodePoint(printable ? b : 256 + extra++));
  }
  return table;
}

interface Vocabulary {
  tokens: string[];
  types: ArrayLike<number> | undefined;
  scores: ArrayLike<number> | undefined;
}

function readVocabulary(meta: Metadata): Vocabulary {
  const tokens = meta.strings('tokenizer.ggml.tokens');
  if (!tokens || tokens.length === 0) throw new GgufError(`${meta.file}: no tokenizer.ggml.tokens`);
  const types = meta.numbers('tokenizer.ggml.token_type');
  const scores = meta.numbers('tokenizer.ggml.scores');
  for (const [name, arr] of [
    ['token_type', types],
    ['scores', scores],
  ] as const)
    if (arr && arr.length !== tokens.length)
      throw new GgufError(`${meta.file}: tokenizer.ggml.${name} has ${arr.length} entries for ${tokens.length} tokens`);
  return { tokens, types, scores };
}

/** `{token: id}` in id order; a repeated token keeps its first place and last id (like a Python dict). */
function vocabObject(tokens: string[]): Record<string, number> {
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((t, id) => (vocab[t] = id));
  return vocab;
}

const addedToken = (id: number, content: string, special: boolean) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special,
});

/** tokens of a type as added tokens (control -> special, user-defined -> plain), if `keep` accepts them. */
function addedTokens(v: Vocabulary, keep: (token: string) => boolean, alsoSpecial: Set<number>) {
  const out: ReturnType<typeof addedToken>[] = [];
  v.tokens.forEach((t, id) => {
    const type = v.types?.[id];
    if ((type === TOKEN_TYPE.control || alsoSpecial.has(id)) && keep(t)) out.push(addedToken(id, t, true));
    else if (type === TOKEN_TYPE.userDefined && keep(t)) out.push(addedToken(id, t, false));
  });
  return out;
}

/** transformers' TemplateProcessing: optional BOS / EOS around each sequence. */
function postProcessor(
  bos: string | undefined,
  bosId: number | undefined,
  eos: string | undefined,
  eosId: number | undefined,
) {
  const seq = (id: 'A' | 'B', typeId: number) => [
    ...(bos !== undefined ? [{ SpecialToken: { id: bos, type_id: typeId } }] : []),
    { Sequence: { id, type_id: typeId } },
    ...(eos !== undefined ? [{ SpecialToken: { id: eos, type_id: typeId } }] : []),
  ];
  const special: Json = {};
  if (bos !== undefined) special[bos] = { id: bos, ids: [bosId], tokens: [bos] };
  if (eos !== undefined) special[eos] = { id: eos, ids: [eosId], tokens: [eos] };
  return {
    type: 'TemplateProcessing',
    single: seq('A', 0),
    pair: [...seq('A', 0), ...seq('B', 1)],
    special_tokens: special,
  };
}

/**
 * Merges implied by a SentencePiece vocabulary (transformers' generate_merges): every split of a
 * token into two tokens, ranked by the joined token's score, then the longer left and right pieces
 * first (a descending sort on all three keys); ties keep vocabulary order.
 */
export function mergesFromScores(tokens: string[], scores: ArrayLike<number>): Array<[string, string]> {
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => vocab.set(t, i));
  const scoreOf = new Map<string, number>();
  tokens.forEach((t, i) => scoreOf.set(t, scores[i]));
  const merges: Array<{ l: string; r: string; score: number; ll: number; lr: number }> = [];
  for (const [merge, score] of scoreOf) {
    const chars = Array.from(merge); // Python slices by code point
    const local: typeof merges = [];
    for (let i = 1; i < chars.length; i++) {
      const l = chars.slice(0, i).join('');
      const r = chars.slice(i).join('');
      if (vocab.has(l) && vocab.has(r)) local.push({ l, r, score, ll: i, lr: chars.length - i });
    }
    local.sort((a, b) => vocab.get(a.l)! - vocab.get(b.l)! || vocab.get(a.r)! - vocab.get(b.r)!);
    merges.push(...local);
  }
  merges.sort((a, b) => b.score - a.score || b.ll - a.ll || b.lr - a.lr);
  return merges.map((m) => [m.l, m.r]);
}

export interface GgufTokenizerFiles {
  tokenizer: Json;
  tokenizerConfig: Json;
  /** Things the caller should tell the user (an unknown pre-tokenizer). */
  notes: string[];
}

export function ggufTokenizer(meta: Metadata, maxPositions?: number): GgufTokenizerFiles {
  const model = meta.str('tokenizer.ggml.model');
  const v = readVocabulary(meta);
  const tokenAt = (key: string): string | undefined => {
    const id = meta.int(key);
    if (id === undefined) return undefined;
    if (id >= v.tokens.length) throw new GgufError(`${meta.file}: ${key} ${id} is not a token id`);
    return v.tokens[id];
  };
  const specials = {
    bos_token: tokenAt('tokenizer.ggml.bos_token_id'),
    eos_token: tokenAt('tokenizer.ggml.eos_token_id'),
    unk_token: tokenAt('tokenizer.ggml.unknown_token_id'),
    pad_token: tokenAt('tokenizer.ggml.padding_token_id'),
  };
  const notes: string[] = [];
  let tokenizer: Json;
  let addBos: boolean;
  if (model === 'gpt2') {
    addBos = meta.bool('tokenizer.ggml.add_bos_token') ?? false;
    const pre = meta.str('tokenizer.ggml.pre') ?? 'default';
    const { preTokenizer, known } = gpt2PreTokenizer(pre);
    if (!known) notes.push(`tokenizer.ggml.pre "${pre}" is not one this converter knows: using GPT-2's split`);
    tokenizer = byteLevelTokenizer(meta, v, preTokenizer);
  } else if (model === 'llama') {
    // llama.cpp adds BOS to a SentencePiece vocabulary unless the file says otherwise
    addBos = meta.bool('tokenizer.ggml.add_bos_token') ?? true;
    tokenizer = sentencePieceTokenizer(meta, v, meta.str('general.architecture'));
  } else {
    throw new GgufError(`${meta.file}: tokenizer model "${model ?? '(none)'}" is not supported (gpt2, llama)`);
  }
  const addEos = meta.bool('tokenizer.ggml.add_eos_token') ?? false;
  const ids = (k: string) => meta.int(k);
  tokenizer.post_processor = postProcessor(
    addBos ? specials.bos_token : undefined,
    ids('tokenizer.ggml.bos_token_id'),
    addEos ? specials.eos_token : undefined,
    ids('tokenizer.ggml.eos_token_id'),
  );
  const chatTemplate = meta.str('tokenizer.chat_template');
  const tokenizerConfig: Json = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    add_bos_token: addBos,
    add_eos_token: addEos,
    ...Object.fromEntries(Object.entries(specials).filter(([, t]) => t !== undefined)),
    clean_up_tokenization_spaces: false,
    ...(maxPositions ? { model_max_length: maxPositions } : {}),
    ...(chatTemplate ? { chat_template: chatTemplate } : {}),
  };
  return { tokenizer, tokenizerConfig, notes };
}

function byteLevelTokenizer(meta: Metadata, v: Vocabulary, preTokenizer: Json): Json {
  const spelling = bytesToUnicode();
  const alphabet = new Set(spelling);
  const inAlphabet = (t: string) => Array.from(t).every((c) => alphabet.has(c));
  const utf8 = new TextEncoder();
  // A token spelled with real characters (a mislabelled added token) is respelled byte by byte.
  const spelled = v.tokens.map((t) => (inAlphabet(t) ? t : Array.from(utf8.encode(t), (b) => spelling[b]).join('')));
  const merges = meta.strings('tokenizer.ggml.merges');
  if (!merges) throw new GgufError(`${meta.file}: a gpt2 tokenizer needs tokenizer.ggml.merges`);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(v, inAlphabet, new Set()),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabObject(spelled),
      merges: merges.map((m) => {
        const parts = m.split(' ');
        if (parts.length !== 2) throw new GgufError(`${meta.file}: merge "${m}" is not two tokens`);
        return parts;
      }),
    },
  };
}

/**
 * SentencePiece BPE with byte fallback. Gemma's files need transformers' two fixes: a token of two or
 * more blanks is stored as real spaces but looked up as "▁▁"; and merges come from the tokens' order
 * in the file, since Gemma's scores do not follow its merge order. Gemma also has no prefix space.
 */
function sentencePieceTokenizer(meta: Metadata, v: Vocabulary, arch: string | undefined): Json {
  if (!v.scores) throw new GgufError(`${meta.file}: a SentencePiece (llama) tokenizer needs tokenizer.ggml.scores`);
  const gemma = arch !== undefined && /^gemma\d*$/.test(arch);
  const tokens = gemma
    ? v.tokens.map((t) => (t.includes(' ') && !t.trim() ? '\u2581'.repeat(Array.from(t).length) : t))
    : v.tokens;
  const fileMerges = meta.strings('tokenizer.ggml.merges');
  const merges = fileMerges
    ? fileMerges.map((m) => m.split(' '))
    : mergesFromScores(tokens, gemma ? tokens.map((_, i) => -i) : v.scores);
  const prefix = !gemma && (meta.bool('tokenizer.ggml.add_space_prefix') ?? true);
  // the ids transformers gives special roles are added tokens too, whatever their type
  const roles = ['bos', 'eos', 'unknown', 'padding'].map((r) => meta.int(`tokenizer.ggml.${r}_token_id`));
  const special = new Set(roles.filter((id): id is number => id !== undefined));
  const unk = roles[2];
  const decodeBlanks = [
    { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
  ];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens({ ...v, tokens }, () => true, special),
    normalizer: gemma ? { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' } : null,
    pre_tokenizer: gemma
      ? { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithPrevious', invert: false }
      : { type: 'Metaspace', replacement: '\u2581', prepend_scheme: prefix ? 'first' : 'never', split: false },
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [...decodeBlanks, ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : [])],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk !== undefined ? tokens[unk] : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabObject(tokens),
      merges,
    },
  };
}
