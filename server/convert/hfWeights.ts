// Hugging Face tensor names and shapes of a llama / gemma / qwen2 checkpoint, and the conversion
// between HF's nn.Linear layout [out, in] and the ONNX MatMul layout [in, out] the graphs use.
import type { ModelDims } from '../onnx/modelDims.js';

export interface HfTensor {
  name: string;
  shape: number[];
}

/** Every tensor HF's *ForCausalLM state dict holds (lm_head only when untied), in module order. */
export function hfWeightSpecs(d: ModelDims, qkvBias = d.type === 'qwen2'): HfTensor[] {
  const H = d.hiddenSize;
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const F = d.intermediateSize;
  const out: HfTensor[] = [{ name: 'model.embed_tokens.weight', shape: [d.vocabSize, H] }];
  for (let i = 0; i < d.layers; i++) {
    const p = `model.layers.${i}`;
    out.push({ name: `${p}.input_layernorm.weight`, shape: [H] });
    for (const [proj, n] of [
      ['q', q],
      ['k', kv],
      ['v', kv],
    ] as const) {
      out.push({ name: `${p}.self_attn.${proj}_proj.weight`, shape: [n, H] });
      if (qkvBias) out.push({ name: `${p}.self_attn.${proj}_proj.bias`, shape: [n] });
    }
    out.push({ name: `${p}.self_attn.o_proj.weight`, shape: [H, q] });
    out.push({ name: `${p}.post_attention_layernorm.weight`, shape: [H] });
    out.push({ name: `${p}.mlp.gate_proj.weight`, shape: [F, H] });
    out.push({ name: `${p}.mlp.up_proj.weight`, shape: [F, H] });
    out.push({ name: `${p}.mlp.down_proj.weight`, shape: [H, F] });
  }
  out.push({ name: 'model.norm.weight', shape: [H] });
  if (!d.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [d.vocabSize, H] });
  return out;
}

/** Linear weights are stored transposed in ONNX; the embedding table keeps HF's [vocab, hidden]. */
export function isLinearWeight(name: string, rank: number): boolean {
  return rank === 2 && name !== 'model.embed_tokens.weight';
}

/** Row-major [rows, cols] -> [cols, rows]. */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  if (data.length !== rows * cols) throw new Error(`transpose: ${data.length} values are not ${rows}x${cols}`);
  const out = new Float32Array(data.length);
  // blocked so both sides stay in cache for large matrices
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    for (let c0 = 0; c0 < cols; c0 += B) {
      const r1 = Math.min(r0 + B, rows);
      const c1 = Math.min(c0 + B, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = data[r * cols + c];
    }
  }
  return out;
}

/** An ONNX-layout tensor (dims as in the graph) as the HF tensor of the same name. */
export function onnxToHf(name: string, dims: number[], data: Float32Array): Float32Array {
  return isLinearWeight(name, dims.length) ? transpose(data, dims[0], dims[1]) : data;
}

/** An HF tensor as the ONNX-layout tensor with graph dims `dims`. */
export function hfToOnnx(name: string, dims: number[], data: Float32Array): Float32Array {
  return isLinearWeight(name, dims.length) ? transpose(data, dims[1], dims[0]) : data;
}
