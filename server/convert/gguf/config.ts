// config.json and generation_config.json from a GGUF file's metadata ({arch}.* keys, llama.cpp's
// names), for llama, qwen2 and gemma, in transformers' own field names, so the HF folder loads in
// transformers and in our converter alike.
import { GgufError, type GgufTensor } from './ggufFile.js';
import type { Metadata } from './metadata.js';
import { ROPE_FREQS } from './tensorMap.js';

export const GGUF_ARCHITECTURES = ['llama', 'qwen2', 'gemma'] as const;
export type GgufArch = (typeof GGUF_ARCHITECTURES)[number];

type Json = Record<string, unknown>;

const CLASS: Record<GgufArch, string> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  gemma: 'GemmaForCausalLM',
};

export function ggufArch(meta: Metadata): GgufArch {
  const arch = meta.str('general.architecture');
  if (!GGUF_ARCHITECTURES.includes(arch as GgufArch))
    throw new GgufError(
      `${meta.file}: architecture "${arch ?? '(none)'}" is not supported (supported: ${GGUF_ARCHITECTURES.join(', ')})`,
    );
  return arch as GgufArch;
}

/**
 * llama.cpp stores Llama 3.1-style rope scaling as per-frequency divisors (rope_freqs) and drops the
 * parameters; recover them (factor = the largest divisor; Meta's low/high frequency factors 1 and 4)
 * and check they reproduce every divisor, so a file scaled another way is refused, not misread.
 */
function llama3Rope(factors: Float32Array, theta: number, headDim: number, originalMax: number, file: string): Json {
  if (factors.length !== headDim / 2)
    throw new GgufError(`${file}: ${ROPE_FREQS} has ${factors.length} values, not head_dim / 2 = ${headDim / 2}`);
  const factor = factors.reduce((a, b) => Math.max(a, b), 0);
  const [low, high] = [1, 4];
  const lowWavelen = originalMax / low;
  const highWavelen = originalMax / high;
  for (let j = 0; j < factors.length; j++) {
    const freq = 1 / theta ** ((2 * j) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    const smooth = (originalMax / wavelen - low) / (high - low);
    const want = wavelen < highWavelen ? 1 : wavelen > lowWavelen ? factor : 1 / ((1 - smooth) / factor + smooth);
    if (Math.abs(factors[j] - want) > 1e-5 * want)
      throw new GgufError(`${file}: ${ROPE_FREQS} is not llama3 rope scaling (this converter supports only that)`);
  }
  return {
    rope_type: 'llama3',
    factor,
    low_freq_factor: low,
    high_freq_factor: high,
    original_max_position_embeddings: originalMax,
  };
}

export interface GgufConfigs {
  arch: GgufArch;
  config: Json;
  generation: Json;
}

/**
 * @param readTensor reads a tensor's values (only rope_freqs is read, when present)
 */
export function ggufConfigs(
  meta: Metadata,
  tensors: GgufTensor[],
  readTensor: (t: GgufTensor) => Float32Array,
): GgufConfigs {
  const arch = ggufArch(meta);
  const key = (k: string) => `${arch}.${k}`;
  const need = (k: string): number => {
    const v = meta.int(key(k));
    if (v === undefined || v === 0) throw new GgufError(`${meta.file}: metadata ${key(k)} is missing`);
    return v;
  };
  const hidden = need('embedding_length');
  const heads = need('attention.head_count');
  const kvHeads = meta.int(key('attention.head_count_kv')) ?? heads;
  if (kvHeads === 0 || heads % kvHeads)
    throw new GgufError(`${meta.file}: ${heads} attention heads do not split into ${kvHeads} key/value heads`);
  const embd = tensors.find((t) => t.name === 'token_embd.weight');
  // the embedding's rows are the model's vocabulary; a tokenizer may list fewer tokens than that
  const vocab = meta.int(key('vocab_size')) ?? embd?.dims[1] ?? meta.strings('tokenizer.ggml.tokens')?.length;
  if (!vocab) throw new GgufError(`${meta.file}: no vocabulary size (no ${key('vocab_size')}, tokens or token_embd)`);
  // llama.cpp's head size is attention.key_length; older llama files only give the rotary width
  const headDim =
    meta.int(key('attention.key_length')) ??
    (arch === 'llama' ? meta.int(key('rope.dimension_count')) : undefined) ??
    hidden / heads;
  const valueLength = meta.int(key('attention.value_length'));
  if (valueLength !== undefined && valueLength !== headDim)
    throw new GgufError(`${meta.file}: key and value head sizes differ (${headDim} vs ${valueLength})`);
  const ropeWidth = meta.int(key('rope.dimension_count'));
  if (ropeWidth !== undefined && ropeWidth !== headDim)
    throw new GgufError(`${meta.file}: partial rotary embeddings (${ropeWidth} of ${headDim}) are not supported`);
  const theta = meta.num(key('rope.freq_base')) ?? 10000;
  const maxPositions = meta.int(key('context_length')) ?? 2048;

  let rope: Json = { rope_theta: theta, rope_type: 'default' };
  const freqs = tensors.find((t) => t.name === ROPE_FREQS);
  const scaling = meta.str(key('rope.scaling.type')) ?? 'none';
  if (freqs) {
    const original = meta.int(key('rope.scaling.original_context_length')) ?? 8192;
    rope = { rope_theta: theta, ...llama3Rope(readTensor(freqs), theta, headDim, original, meta.file) };
  } else if (scaling === 'linear') {
    rope = { rope_theta: theta, rope_type: 'linear', factor: meta.num(key('rope.scaling.factor')) ?? 1 };
  } else if (scaling !== 'none') {
    throw new GgufError(`${meta.file}: rope scaling "${scaling}" is not supported (none, linear, llama3)`);
  }

  const ids = {
    bos_token_id: meta.int('tokenizer.ggml.bos_token_id'),
    eos_token_id: meta.int('tokenizer.ggml.eos_token_id'),
    pad_token_id: meta.int('tokenizer.ggml.padding_token_id'),
    unk_token_id: meta.int('tokenizer.ggml.unknown_token_id'),
  };
  const config: Json = {
    architectures: [CLASS[arch]],
    model_type: arch,
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: need('feed_forward_length'),
    num_hidden_layers: need('block_count'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    max_position_embeddings: maxPositions,
    rms_norm_eps: meta.num(key('attention.layer_norm_rms_epsilon')) ?? 1e-6,
    // transformers 5 reads rope_parameters, 4.x rope_theta / rope_scaling
    rope_parameters: rope,
    rope_theta: theta,
    ...(rope.rope_type === 'default' ? {} : { rope_scaling: rope }),
    tie_word_embeddings: !tensors.some((t) => t.name === 'output.weight'),
    hidden_act: arch === 'gemma' ? 'gelu_pytorch_tanh' : 'silu',
    ...(arch === 'gemma' ? { hidden_activation: 'gelu_pytorch_tanh' } : {}),
    ...(arch === 'qwen2' ? { use_sliding_window: false, max_window_layers: need('block_count') } : {}),
    ...(arch === 'qwen2' ? {} : { attention_bias: false }),
    ...(arch === 'llama' ? { mlp_bias: false } : {}),
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    dtype: 'float32',
    ...Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)),
  };
  const name = meta.str('general.name');
  if (name) config._name_or_path = name;

  // llama.cpp also stops on the end-of-turn token (Llama 3's <|eot_id|>); so does our generation
  const eos = [ids.eos_token_id, meta.int('tokenizer.ggml.eot_token_id'), meta.int('tokenizer.ggml.eom_token_id')];
  const stops = [...new Set(eos.filter((v): v is number => v !== undefined))];
  const generation: Json = {
    _from_model_config: true,
    ...(ids.bos_token_id !== undefined ? { bos_token_id: ids.bos_token_id } : {}),
    ...(stops.length ? { eos_token_id: stops.length === 1 ? stops[0] : stops } : {}),
    ...(ids.pad_token_id !== undefined ? { pad_token_id: ids.pad_token_id } : {}),
  };
  return { arch, config, generation };
}
