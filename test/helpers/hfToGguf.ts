// A miniature of llama.cpp's convert_hf_to_gguf.py for tests: a Hugging Face test-model folder
// (byte-level BPE tokenizer, safetensors) -> a GGUF file with llama.cpp's names and metadata keys,
// llama q/k rows permuted and gemma norms stored as 1 + w, each tensor in the format `typeOf` picks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpoint } from '../../server/convert/checkpoint.js';
import {
  m,
  quantize,
  QUANT_TYPES,
  writeGguf,
  type GgufTensorSpec,
  type MetaValue,
  type QuantName,
} from './ggufWriter.js';

const readJson = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

/** HF name -> llama.cpp name. */
export function ggufTensorName(hf: string): string {
  const global: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (global[hf]) return global[hf];
  const layer: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  const r = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!r) throw new Error(`no GGUF name for ${hf}`);
  const proj = /^self_attn\.([qkv])_proj\.(weight|bias)$/.exec(r[2]);
  if (proj) return `blk.${r[1]}.attn_${proj[1]}.${proj[2]}`;
  if (!layer[r[2]]) throw new Error(`no GGUF name for ${hf}`);
  return `blk.${r[1]}.${layer[r[2]]}`;
}

/**
 * convert_hf_to_gguf.py's permute(): reshape(heads, 2, headDim/2, cols).swapaxes(1, 2), i.e. GGUF row
 * h*headDim + 2d + i takes HF row h*headDim + i*headDim/2 + d.
 */
export function permuteRows(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols;
  const headDim = rows / heads;
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    const h = Math.floor(r / headDim);
    const within = r % headDim;
    const d = within >> 1;
    const i = within & 1;
    const src = h * headDim + i * (headDim / 2) + d;
    out.set(w.subarray(src * cols, src * cols + cols), r * cols);
  }
  return out;
}

export interface HfToGgufOptions {
  /** The format of each tensor (default F32). */
  typeOf?: (hfName: string, shape: number[]) => QuantName;
  /** tokenizer.ggml.pre (default "default"). */
  pre?: string;
  extraMetadata?: Array<[string, MetaValue]>;
  /** Last word on the metadata and tensor table (tests of files that are wrong in one way). */
  edit?: (metadata: Array<[string, MetaValue]>, tensors: GgufTensorSpec[]) => void;
}

export function hfToGguf(dir: string, path: string, opts: HfToGgufOptions = {}) {
  const config = readJson(dir, 'config.json');
  const tok = readJson(dir, 'tokenizer.json');
  const tokConfig = readJson(dir, 'tokenizer_config.json');
  const arch: string = config.model_type;
  const heads: number = config.num_attention_heads;
  const kvHeads: number = config.num_key_value_heads;
  const hidden: number = config.hidden_size;

  const vocab = tok.model.vocab as Record<string, number>;
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
  for (const a of tok.added_tokens as Array<{ id: number; content: string }>) tokens[a.id] = a.content;
  const special = new Set((tok.added_tokens as Array<{ id: number }>).map((a) => a.id));
  const idOf = (t: string | null | undefined) => (t ? (vocab[t] ?? tokens.indexOf(t)) : -1);
  const ids: Array<[string, number]> = [
    ['bos', idOf(tokConfig.bos_token)],
    ['eos', config.eos_token_id],
    ['unknown', idOf(tokConfig.unk_token)],
    ['padding', config.pad_token_id],
  ];

  const metadata: Array<[string, MetaValue]> = [
    ['general.architecture', m.str(arch)],
    ['general.name', m.str(`test ${arch}`)],
    ['general.alignment', m.u32(32)],
    [`${arch}.context_length`, m.u32(config.max_position_embeddings)],
    [`${arch}.embedding_length`, m.u32(hidden)],
    [`${arch}.block_count`, m.u32(config.num_hidden_layers)],
    [`${arch}.feed_forward_length`, m.u32(config.intermediate_size)],
    [`${arch}.attention.head_count`, m.u32(heads)],
    [`${arch}.attention.head_count_kv`, m.u32(kvHeads)],
    [`${arch}.attention.key_length`, m.u32(config.head_dim)],
    [`${arch}.attention.value_length`, m.u32(config.head_dim)],
    [`${arch}.rope.freq_base`, m.f32(config.rope_theta)],
    [`${arch}.attention.layer_norm_rms_epsilon`, m.f32(config.rms_norm_eps)],
    [`${arch}.vocab_size`, m.u32(config.vocab_size)],
    ['tokenizer.ggml.model', m.str('gpt2')],
    ['tokenizer.ggml.pre', m.str(opts.pre ?? 'default')],
    ['tokenizer.ggml.tokens', m.arr('string', tokens)],
    [
      'tokenizer.ggml.token_type',
      m.arr(
        'i32',
        tokens.map((_, i) => (special.has(i) ? 3 : 1)),
      ),
    ],
    ['tokenizer.ggml.merges', m.arr('string', tok.model.merges as string[])],
    ...ids
      .filter(([, id]) => id >= 0)
      .map(([k, id]): [string, MetaValue] => [`tokenizer.ggml.${k}_token_id`, m.u32(id)]),
    ['tokenizer.ggml.add_bos_token', m.bool(tokConfig.add_bos_token === true)],
    ['tokenizer.chat_template', m.str("{% for m in messages %}{{ m['content'] }}{% endfor %}")],
    ...(opts.extraMetadata ?? []),
  ];

  const ckpt = Checkpoint.open(dir);
  const tensors: GgufTensorSpec[] = [];
  try {
    for (const hf of ckpt.names()) {
      const shape = ckpt.info(hf).shape;
      let w = ckpt.read(hf);
      const cols = shape.length === 2 ? shape[1] : 1;
      if (arch === 'llama' && hf.includes('.q_proj.')) w = permuteRows(w, heads, cols);
      if (arch === 'llama' && hf.includes('.k_proj.')) w = permuteRows(w, kvHeads, cols);
      if (arch === 'gemma' && hf.endsWith('norm.weight')) w = w.map((x) => Math.fround(x + 1));
      const type = opts.typeOf?.(hf, shape) ?? 'F32';
      tensors.push({
        name: ggufTensorName(hf),
        dims: [...shape].reverse(),
        typeId: QUANT_TYPES[type].id,
        data: quantize(type, w),
      });
    }
  } finally {
    ckpt.close();
  }
  opts.edit?.(metadata, tensors);
  return writeGguf(path, { metadata, tensors });
}
