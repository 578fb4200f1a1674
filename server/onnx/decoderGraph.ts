// Builds the ONNX graph of a decoder-only transformer with the same inputs, outputs and math as an
// Optimum export of Hugging Face's LlamaForCausalLM / GemmaForCausalLM / Qwen2ForCausalLM (eager
// attention, fp32), with random weights or, through a WeightSource, a checkpoint's weights. Only
// standard opset-17 ops are used, so any ORT EP runs it.
import { TensorType as DataType, type GraphBuilder } from './onnxGraph.js';
import { Rng } from '../util/rng.js';
import type { ModelDims } from './modelDims.js';

/** Additive mask value for blocked keys: finite (like HF's finfo.min) so fully padded rows stay NaN-free. */
export const MASK_MIN = -3.4028234663852886e38;

/**
 * Init scales chosen for usable random models rather than for training: logits get a per-token
 * std of about 3 (so greedy decoding has clear winners and batched/unbatched runs agree), and each
 * attention/MLP block adds an update about as large as the token embedding, so the next token
 * depends on the context and not just on the last token (a KV-cache bug then changes the output).
 */
const LOGIT_STD = 3;
// Approximate RMS of the attention context (a softmax-weighted mix of unit-RMS values) and of
// act(gate) * up for unit-normal gate/up; used to size o_proj / down_proj.
const ATTN_CTX_RMS = 0.7;
const MLP_ACT_RMS = 0.6;

export interface DecoderBuildResult {
  parameters: number;
}

/**
 * Where the weights come from. Tensors are asked for by HF name in the graph's layout (linear
 * weights [in, out], i.e. HF's transposed) and in a fixed order; `init` is the spread of the random
 * init, which a checkpoint source ignores.
 */
export interface WeightSource {
  weight(name: string, dims: number[], init: { std: number; mean: number }): Float32Array;
}

/** Seeded random weights: the test models. */
export function randomWeights(rng: Rng): WeightSource {
  return {
    weight: (_name, dims, init) =>
      rng.fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1)), init.std, init.mean),
  };
}

export interface DecoderBuildOptions {
  /** Rotary inverse frequencies (e.g. with llama3 rope scaling); default theta^(-2j/D). */
  invFreq?: Float32Array;
}

export function buildDecoderGraph(
  g: GraphBuilder,
  d: ModelDims,
  source: WeightSource | Rng,
  opts: DecoderBuildOptions = {},
): DecoderBuildResult {
  const weights = source instanceof Rng ? randomWeights(source) : source;
  const H = d.hiddenSize;
  const D = d.headDim;
  const qDim = d.heads * D;
  const kvDim = d.kvHeads * D;
  const nRep = d.heads / d.kvHeads;
  const isGemma = d.type === 'gemma';
  let parameters = 0;

  const weight = (name: string, dims: number[], std: number, mean = 0): string => {
    const data = weights.weight(name, dims, { std, mean });
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`weight ${name}: expected dims ${dims}`);
    parameters += data.length;
    return g.f32(name, dims, data);
  };
  // Linear layers are stored as [in, out] (the MatMul right operand), i.e. HF's weight transposed.
  const linear = (prefix: string, inDim: number, outDim: number, std: number, bias: boolean) => ({
    w: weight(`${prefix}.weight`, [inDim, outDim], std),
    b: bias ? weight(`${prefix}.bias`, [outDim], 0.3) : null,
  });
  // Norm weights are perturbed from their identity value so a wrong norm formula changes the output.
  const normWeight = (name: string) => weight(name, [H], 0.1, isGemma ? 0 : 1);

  const i64 = (v: number[]) => g.constI64(v);
  const scalarI64 = (v: number) => g.constI64([v], []);
  const f32 = (v: number) => g.constF32(v);

  // ---- inputs
  const batch = 'batch_size';
  const inputIds = g.input('input_ids', DataType.INT64, [batch, 'sequence_length']);
  const attnMask = g.input('attention_mask', DataType.INT64, [batch, 'total_sequence_length']);
  const positionIds = g.input('position_ids', DataType.INT64, [batch, 'sequence_length']);
  const past: Array<{ key: string; value: string }> = [];
  for (let i = 0; i < d.layers; i++) {
    past.push({
      key: g.input(`past_key_values.${i}.key`, DataType.FLOAT, [batch, d.kvHeads, 'past_sequence_length', D]),
      value: g.input(`past_key_values.${i}.value`, DataType.FLOAT, [batch, d.kvHeads, 'past_sequence_length', D]),
    });
  }

  // ---- embeddings
  const tied = d.tieWordEmbeddings;
  const embedStd = tied ? LOGIT_STD / Math.sqrt(H) : 1;
  // RMS of the residual stream's embedding part; each block's output is sized to match it.
  const blockRms = isGemma ? embedStd * Math.sqrt(H) : embedStd;
  const embed = weight('model.embed_tokens.weight', [d.vocabSize, H], embedStd);
  let x = g.op('Gather', [embed, inputIds], { axis: 0 });
  if (isGemma) x = g.op('Mul', [x, f32(Math.sqrt(H))]); // Gemma scales embeddings by sqrt(hidden_size)

  // ---- rotary tables, shared by all layers: cos/sin [B, 1, S, D] (HF rotate_half layout)
  const invFreq = opts.invFreq ?? defaultInvFreq(d.ropeTheta, D);
  if (invFreq.length !== D / 2) throw new Error(`invFreq needs ${D / 2} values`);
  const invFreqName = g.f32('model.rotary_emb.inv_freq', [D / 2], invFreq);
  const posF = g.op('Cast', [positionIds], { to: DataType.FLOAT });
  const freqs = g.op('Mul', [g.op('Unsqueeze', [posF, i64([2])]), invFreqName]); // [B, S, D/2]
  const emb = g.op('Concat', [freqs, freqs], { axis: -1 });
  const cos = g.op('Unsqueeze', [g.op('Cos', [emb]), i64([1])], undefined, 'rotary_cos');
  const sin = g.op('Unsqueeze', [g.op('Sin', [emb]), i64([1])], undefined, 'rotary_sin');

  // ---- additive attention bias [B, 1, S, T]: a key is blocked if it is padding (mask 0) or in
  // the future of the query. Query s sits at absolute slot P+s, where P = T - S is the past length.
  const seqLen = g.op('Gather', [g.op('Shape', [inputIds]), scalarI64(1)], { axis: 0 });
  const totalLen = g.op('Gather', [g.op('Shape', [attnMask]), scalarI64(1)], { axis: 0 });
  const pastLen = g.op('Sub', [totalLen, seqLen]);
  const keyIdx = g.op('Range', [scalarI64(0), totalLen, scalarI64(1)]); // [T]
  const queryIdx = g.op('Unsqueeze', [g.op('Range', [pastLen, totalLen, scalarI64(1)]), i64([1])]); // [S, 1]
  const future = g.op('Greater', [keyIdx, queryIdx]); // [S, T]
  const padding = g.op('Unsqueeze', [g.op('Equal', [attnMask, scalarI64(0)]), i64([1, 2])]); // [B, 1, 1, T]
  const blocked = g.op('Or', [padding, future]);
  const attnBias = g.op('Where', [blocked, f32(MASK_MIN), f32(0)], undefined, 'attention_bias');

  // ---- building blocks
  const rmsNorm = (input: string, w: string): string => {
    // HF: x * rsqrt(mean(x^2) + eps) * w   (Gemma: * (1 + w)). Pow/ReduceMean/Add/Sqrt/Div is the
    // pattern ORT fuses into SimplifiedLayerNormalization.
    const variance = g.op('ReduceMean', [g.op('Pow', [input, f32(2)])], { axes: [-1], keepdims: 1 });
    const normed = g.op('Div', [input, g.op('Sqrt', [g.op('Add', [variance, f32(d.rmsNormEps)])])]);
    return g.op('Mul', [normed, isGemma ? g.op('Add', [w, f32(1)]) : w]);
  };
  const project = (input: string, p: { w: string; b: string | null }): string => {
    const y = g.op('MatMul', [input, p.w]);
    return p.b ? g.op('Add', [y, p.b]) : y;
  };
  // [B, S, n*D] -> [B, n, S, D]
  const splitHeads = (t: string, n: number) =>
    g.op('Transpose', [g.op('Reshape', [t, i64([0, 0, n, D])])], { perm: [0, 2, 1, 3] });
  const rope = (t: string): string => {
    const [x1, x2] = g.node('Split', [t, i64([D / 2, D / 2])], { attrs: { axis: -1 }, outputs: 2 });
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
    return g.op('Add', [g.op('Mul', [t, cos]), g.op('Mul', [rotated, sin])]);
  };
  const activation = (t: string): string => {
    if (!isGemma) return g.op('Mul', [t, g.op('Sigmoid', [t])]); // silu
    // gelu_pytorch_tanh: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    const cube = g.op('Mul', [g.op('Mul', [t, t]), t]);
    const inner = g.op('Mul', [g.op('Add', [t, g.op('Mul', [cube, f32(0.044715)])]), f32(Math.sqrt(2 / Math.PI))]);
    return g.op('Mul', [g.op('Mul', [t, f32(0.5)]), g.op('Add', [g.op('Tanh', [inner]), f32(1)])]);
  };

  const qkvBias = d.type === 'qwen2';
  const scale = 1 / Math.sqrt(D);
  for (let i = 0; i < d.layers; i++) {
    const p = `model.layers.${i}`;
    // ---- self-attention
    const ln1 = normWeight(`${p}.input_layernorm.weight`);
    const qProj = linear(`${p}.self_attn.q_proj`, H, qDim, 1.5 / Math.sqrt(H), qkvBias);
    const kProj = linear(`${p}.self_attn.k_proj`, H, kvDim, 1.5 / Math.sqrt(H), qkvBias);
    const vProj = linear(`${p}.self_attn.v_proj`, H, kvDim, 1 / Math.sqrt(H), qkvBias);
    const oProj = linear(`${p}.self_attn.o_proj`, qDim, H, blockRms / (ATTN_CTX_RMS * Math.sqrt(qDim)), false);
    const h = rmsNorm(x, ln1);
    const q = rope(splitHeads(project(h, qProj), d.heads));
    const k = rope(splitHeads(project(h, kProj), d.kvHeads));
    const v = splitHeads(project(h, vProj), d.kvHeads);
    const presentK = g.node('Concat', [past[i].key, k], { attrs: { axis: 2 }, outputs: [`present.${i}.key`] })[0];
    const presentV = g.node('Concat', [past[i].value, v], { attrs: { axis: 2 }, outputs: [`present.${i}.value`] })[0];
    // GQA without copying K/V: view the n_rep query heads sharing a KV head as extra query rows,
    // [B, heads, S, D] -> [B, kvHeads, nRep*S, D]. Head h uses KV head h // nRep, as HF's repeat_kv.
    const grouped = (t: string, last: number) => (nRep > 1 ? g.op('Reshape', [t, i64([0, d.kvHeads, -1, last])]) : t);
    const ungrouped = (t: string, last: number) => (nRep > 1 ? g.op('Reshape', [t, i64([0, d.heads, -1, last])]) : t);
    const keyT = g.op('Transpose', [presentK], { perm: [0, 1, 3, 2] });
    let scores = ungrouped(g.op('MatMul', [grouped(q, D), keyT]), 0); // [B, heads, S, T]
    scores = g.op('Add', [g.op('Mul', [scores, f32(scale)]), attnBias]);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const ctx = ungrouped(g.op('MatMul', [grouped(probs, 0), presentV]), D); // [B, heads, S, D]
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), i64([0, 0, qDim])]);
    x = g.op('Add', [x, project(merged, oProj)]);

    // ---- MLP: down(act(gate(x)) * up(x))
    const ln2 = normWeight(`${p}.post_attention_layernorm.weight`);
    const gate = linear(`${p}.mlp.gate_proj`, H, d.intermediateSize, 1 / Math.sqrt(H), false);
    const up = linear(`${p}.mlp.up_proj`, H, d.intermediateSize, 1 / Math.sqrt(H), false);
    const down = linear(
      `${p}.mlp.down_proj`,
      d.intermediateSize,
      H,
      blockRms / (MLP_ACT_RMS * Math.sqrt(d.intermediateSize)),
      false,
    );
    const h2 = rmsNorm(x, ln2);
    const act = g.op('Mul', [activation(project(h2, gate)), project(h2, up)]);
    x = g.op('Add', [x, project(act, down)]);
  }

  // ---- head
  // With tied embeddings, a near-identity final norm would make the logit of the input token itself
  // ~sqrt(H) times larger than the rest (x . x), so the model would just echo its input. A zero-mean
  // random final norm weight (Gemma: 1 + w zero-mean) removes that alignment and keeps logit std ~3.
  const finalNorm = tied ? weight('model.norm.weight', [H], 1, isGemma ? -1 : 0) : normWeight('model.norm.weight');
  const lmHead = tied
    ? g.op('Transpose', [embed], { perm: [1, 0] })
    : weight('lm_head.weight', [H, d.vocabSize], LOGIT_STD / Math.sqrt(H));
  g.node('MatMul', [rmsNorm(x, finalNorm), lmHead], { outputs: ['logits'] });

  // ---- graph outputs
  g.output('logits', DataType.FLOAT, [batch, 'sequence_length', d.vocabSize]);
  for (let i = 0; i < d.layers; i++) {
    g.output(`present.${i}.key`, DataType.FLOAT, [batch, d.kvHeads, 'total_sequence_length', D]);
    g.output(`present.${i}.value`, DataType.FLOAT, [batch, d.kvHeads, 'total_sequence_length', D]);
  }
  return { parameters };
}

/** HF's inv_freq = 1 / theta^(2j / D), in float32 steps like torch. */
function defaultInvFreq(theta: number, D: number): Float32Array {
  const invFreq = new Float32Array(D / 2);
  for (let j = 0; j < D / 2; j++) {
    const exponent = Math.fround(Math.fround(2 * j) / D);
    invFreq[j] = Math.fround(1 / Math.fround(Math.pow(theta, exponent)));
  }
  return invFreq;
}
