// llama.cpp tensor names -> Hugging Face names, and the edits llama.cpp's convert_hf_to_gguf.py made
// to the weights that must be undone: for llama, the rows of q/k are permuted (ggml's rotary pairs
// adjacent values, HF's rotates the two halves of each head); for gemma, norm weights were stored
// as 1 + w (ggml multiplies by the weight, HF's GemmaRMSNorm by 1 + w).
import type { ModelDims } from '../../onnx/modelDims.js';

const GLOBAL: Record<string, string> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};

const PER_LAYER: Record<string, string> = {
  'attn_norm.weight': 'input_layernorm.weight',
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_q.bias': 'self_attn.q_proj.bias',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_k.bias': 'self_attn.k_proj.bias',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_v.bias': 'self_attn.v_proj.bias',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
};

/** llama3-style rope frequency factors: not a weight, read into the config instead. */
export const ROPE_FREQS = 'rope_freqs.weight';

/** The HF name of a GGUF tensor, or undefined when it has none. */
export function hfName(ggufName: string): string | undefined {
  if (ggufName in GLOBAL) return GLOBAL[ggufName];
  const m = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  if (!m || !(m[2] in PER_LAYER)) return undefined;
  return `model.layers.${Number(m[1])}.${PER_LAYER[m[2]]}`;
}

/**
 * Undoes convert_hf_to_gguf.py's permute() of llama q/k rows: within each head, llama.cpp row
 * 2d + i holds HF row i * (headDim / 2) + d. Works on weights [rows, cols] and biases (cols 1).
 */
export function unpermuteRows(data: Float32Array, heads: number, cols: number): Float32Array {
  const rows = data.length / cols;
  const headDim = rows / heads;
  if (!Number.isInteger(headDim) || headDim % 2) throw new Error(`cannot split ${rows} rows into ${heads} heads`);
  const half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < 2; i++)
      for (let d = 0; d < half; d++) {
        const src = (h * headDim + 2 * d + i) * cols;
        out.set(data.subarray(src, src + cols), (h * headDim + i * half + d) * cols);
      }
  return out;
}

/** The HF tensor from a GGUF tensor's dequantized values (rows = HF's first dimension). */
export function toHfTensor(hf: string, data: Float32Array, dims: ModelDims): Float32Array {
  if (dims.type === 'llama') {
    const cols = hf.endsWith('.bias') ? 1 : dims.hiddenSize;
    if (hf.includes('.q_proj.')) return unpermuteRows(data, dims.heads, cols);
    if (hf.includes('.k_proj.')) return unpermuteRows(data, dims.kvHeads, cols);
  }
  if (dims.type === 'gemma' && hf.endsWith('norm.weight')) return data.map((w) => Math.fround(w - 1));
  return data;
}
