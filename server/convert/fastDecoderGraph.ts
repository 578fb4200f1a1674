// The FAST decoder layout ("nocat"): the engine owns the KV cache, the graph never copies it.
//
// Contract (the engine is written against exactly this):
//   inputs
//     input_ids                    int64   [batch, seq]
//     position_ids                 int64   [batch, seq]   absolute positions, < max_position_embeddings
//     past_bias                    float32 [batch, 1, 1, capacity]
//                                  0 where a cache slot holds a valid past token of that row,
//                                  -3.4028234663852886e38 (float32 lowest) where not
//     past_key_values.{i}.key      float32 [batch, kv_heads, capacity, head_dim]   (keys after rotary)
//     past_key_values.{i}.value    float32 [batch, kv_heads, capacity, head_dim]
//                                  inputs only: the engine's buffers, read zero-copy, never written
//     logits_start                 int64   [1]   first new token whose logits are returned (0..seq-1):
//                                  a prefill asks for its last token's only, which spares the output
//                                  layer (a fifth of a small model's work per token) everywhere else
//   outputs
//     logits                       float32 [batch, seq - logits_start, vocab]
//     new.{i}.key, new.{i}.value   float32 [batch, kv_heads, seq, head_dim]
//                                  K (after rotary) / V of the seq new tokens only; the engine copies
//                                  them into its buffers at each row's length (and marks them valid
//                                  in past_bias for the next call)
//   semantics
//     new token s of a row (at position_ids[b, s]) attends to that row's valid past slots (past_bias)
//     and causally to the row's new tokens 0..s. Same math as the HF model, so greedy tokens equal
//     the Optimum layout's. Rows with fewer new tokens can be right-padded (pad tokens only see
//     earlier tokens, nothing real sees them; skip their new K/V and logits; give them in-range
//     position_ids). capacity may differ between calls and may be 0 (a first prefill without buffers).
//
// Inside: past scores q.K_past^T + past_bias and new-token scores q.K_new^T + causal are joined
// before one Softmax (no Concat of the cache). GQA without copying K/V: the G = heads / kv_heads
// query heads of a KV head become extra query rows, [B, kv_heads, G*seq, D]. 1/sqrt(head_dim) is
// folded into W_q (a separate scale Mul made q.K^T ~4x slower: ORT fuses it into a FusedMatMul that
// misses MLAS's fast path). q/k/v and gate/up are each one linear over stacked weights, then Split.
// RMSNorm as SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization (residual adds fused),
// rotary as com.microsoft.RotaryEmbedding with cos/sin caches sized to max_position_embeddings.
// Gemma: embeddings x float32(sqrt(hidden)), RMSNorm's (1 + w) folded into the norm weights, FastGelu
// (= gelu_pytorch_tanh), tied lm_head. Qwen2: q/k/v biases.
// dtype: fp32; fp16 (weights stored fp16, Cast to fp32 in the graph, constant-folded by ORT at
// load); int8 / int4 (every linear as com.microsoft.MatMulNBits, block 32 unless asked otherwise,
// symmetric, accuracy_level 4). With int8 / int4 the embedding table and lm_head are int8 whatever the
// matrices' bits: the output layer decides every token, and for a 49k vocabulary it is a fifth of a
// small model. A tied table is stored once: MatMulNBits reads it as lm_head and GatherBlockQuantized
// (same blocks and scales, via a Reshape ORT folds at load) gathers the embeddings from it.
// All I/O stays float32 / int64 for every dtype.
import { transpose } from './hfWeights.js';
import type { ModelArch } from './modelConfig.js';
import { MS_DOMAIN, TensorType, type GraphBuilder } from '../onnx/onnxGraph.js';
import { quantizeNBits, toFp16, type NBitsWeight } from './quantize.js';
import { rotaryCaches } from './rope.js';

export type FastDtype = 'fp32' | 'fp16' | 'int8' | 'int4';

/** float32 lowest: the "blocked" value of past_bias and of the causal mask. */
export const FAST_MASK_VALUE = -3.4028234663852886e38;

/** Bumped whenever the graph this file writes changes (the benchmarks cache converted models by it). */
export const FAST_GRAPH_REVISION = 4;

export const NBITS_BLOCK_SIZE = 32;
export const NBITS_ACCURACY_LEVEL = 4;
/** Bits of the embedding table and lm_head when the matrices are int8 or int4. */
export const EMBEDDING_BITS = 8;

export interface FastBuildResult {
  parameters: number;
  /** Largest |stored - original| over all weights (0 for fp32). */
  maxWeightError: number;
}

/**
 * The fast layout's initializer names: one definition for the builder below and for the reader that
 * takes a converted folder back to Hugging Face (onnxToHf.ts). A linear `base` is stored as
 * `base.qweight` [N, blocks, blob] + `base.scales` [N, blocks] (int8 / int4, MatMulNBits), `base.weight_t`
 * (fp32, [K, N]) or `base.weight_t.fp16` (fp16), plus `base.bias` [N] where the model has one; the
 * embedding table as `base.qweight` + `base.scales` + `base.zero_points` (EMBEDDING_BITS), or
 * `base.weight` / `base.weight.fp16` [V, hidden]. Norm weights keep their HF names, in fp32.
 */
export const FAST_NAMES = {
  embedding: 'model.embed_tokens',
  /** The untied output layer, a linear. */
  lmHead: 'lm_head',
  finalNorm: 'model.norm.weight',
  qweight: (base: string) => `${base}.qweight`,
  scales: (base: string) => `${base}.scales`,
  zeroPoints: (base: string) => `${base}.zero_points`,
  weightT: (base: string) => `${base}.weight_t`,
  table: (base: string) => `${base}.weight`,
  fp16: (name: string) => `${name}.fp16`,
  bias: (base: string) => `${base}.bias`,
} as const;

/** A linear of the fast layout: its initializer base name and the HF modules whose rows it stacks, in order. */
export interface FastLinear {
  base: string;
  /** HF module names (`<module>.weight`, `<module>.bias`). */
  hf: string[];
}

/** Layer i's initializer names: norms, and its four linears (q rows pre-multiplied by 1/sqrt(head_dim)). */
export function fastLayerNames(i: number): {
  /** Also the prefix of the layer's intermediate value names. */
  prefix: string;
  inputNorm: string;
  postAttentionNorm: string;
  qkv: FastLinear;
  o: FastLinear;
  gateUp: FastLinear;
  down: FastLinear;
} {
  const p = `model.layers.${i}`;
  return {
    prefix: p,
    inputNorm: `${p}.input_layernorm.weight`,
    postAttentionNorm: `${p}.post_attention_layernorm.weight`,
    qkv: { base: `${p}.qkv_proj`, hf: [`${p}.self_attn.q_proj`, `${p}.self_attn.k_proj`, `${p}.self_attn.v_proj`] },
    o: { base: `${p}.o_proj`, hf: [`${p}.self_attn.o_proj`] },
    gateUp: { base: `${p}.gate_up_proj`, hf: [`${p}.mlp.gate_proj`, `${p}.mlp.up_proj`] },
    down: { base: `${p}.down_proj`, hf: [`${p}.mlp.down_proj`] },
  };
}

/** The factor folded into W_q's rows (and q's bias): attention's 1/sqrt(head_dim). */
export const fastQueryScale = (headDim: number): number => 1 / Math.sqrt(headDim);

/** Weights in HF layout by HF name (linear weights [out, in]). */
export type HfWeightGetter = (name: string) => Float32Array;

export function buildFastDecoderGraph(
  g: GraphBuilder,
  arch: ModelArch,
  getWeight: HfWeightGetter,
  dtype: FastDtype,
  blockSize: number = NBITS_BLOCK_SIZE,
): FastBuildResult {
  const d = arch.dims;
  const Hd = d.hiddenSize;
  const D = d.headDim;
  const nH = d.heads;
  const nKv = d.kvHeads;
  const G = nH / nKv;
  const V = d.vocabSize;
  const gemma = d.type === 'gemma';
  const eps = { float: d.rmsNormEps };
  const bits = dtype === 'int8' ? 8 : dtype === 'int4' ? 4 : 0;
  let parameters = 0;
  let maxWeightError = 0;

  const read = (name: string) => {
    const w = getWeight(name);
    parameters += w.length;
    return w;
  };
  const i64 = (v: number[]) => g.constI64(v);

  /** Block-quantized weight initializers: qweight [N, blocks, blob] and scales [N, blocks]. */
  const nbitsInit = (name: string, w: Float32Array, N: number, K: number, nbits: 4 | 8) => {
    const q = quantizeNBits(w, N, K, nbits, blockSize);
    maxWeightError = Math.max(maxWeightError, q.maxError);
    const blob = q.data.length / (N * q.blocks);
    const qweight = g.initializer(FAST_NAMES.qweight(name), TensorType.UINT8, [N, q.blocks, blob], q.data);
    return { q, qweight, scales: g.f32(FAST_NAMES.scales(name), [N, q.blocks], q.scales) };
  };
  type NBitsInit = { q: NBitsWeight; qweight: string; scales: string };
  const matMulNBits = (x: string, w: NBitsInit, out?: string) => {
    const { N, K, bits: nbits } = w.q;
    const attrs = { K, N, bits: nbits, block_size: blockSize, accuracy_level: NBITS_ACCURACY_LEVEL };
    return g.ms('MatMulNBits', [x, w.qweight, w.scales], attrs, out);
  };
  /** y = x W^T (+ b) for HF's W [N, K], encoded per dtype. */
  const linear = (
    x: string,
    name: string,
    w: Float32Array,
    N: number,
    K: number,
    bias?: Float32Array,
    out?: string,
  ): string => {
    const yName = bias ? undefined : out;
    let y: string;
    if (bits) {
      y = matMulNBits(x, nbitsInit(name, w, N, K, bits as 4 | 8), yName);
    } else {
      y = g.op('MatMul', [x, matrix(FAST_NAMES.weightT(name), transpose(w, N, K), [K, N])], undefined, yName);
    }
    return bias ? g.op('Add', [y, g.f32(FAST_NAMES.bias(name), [N], bias)], undefined, out) : y;
  };
  /** A float matrix initializer: fp32, or fp16 + Cast (folded to fp32 by ORT at session creation). */
  const matrix = (name: string, data: Float32Array, dims: number[]): string => {
    if (dtype === 'fp32') return g.f32(name, dims, data);
    return g.op('Cast', [fp16Init(name, data, dims)], { to: TensorType.FLOAT });
  };
  const fp16Init = (name: string, data: Float32Array, dims: number[]): string => {
    const h = toFp16(data, name);
    maxWeightError = Math.max(maxWeightError, h.maxError);
    return g.initializer(FAST_NAMES.fp16(name), TensorType.FLOAT16, dims, h.data);
  };
  /** Norm weights stay fp32 (tiny); Gemma's (1 + w) is folded in, as HF computes it in float32. */
  const normWeight = (name: string) => {
    const w = read(name);
    return g.f32(name, [Hd], gemma ? w.map((v) => 1 + v) : w);
  };

  /** HF linear weights [N_i, K] stacked into one [sum N_i, K]. */
  const stack = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((n, w) => n + w.length, 0));
    parts.reduce((at, w) => (out.set(w, at), at + w.length), 0);
    return out;
  };

  // ---- inputs and outputs
  const B = 'batch_size';
  const inputIds = g.input('input_ids', TensorType.INT64, [B, 'sequence_length']);
  const positionIds = g.input('position_ids', TensorType.INT64, [B, 'sequence_length']);
  const pastBias = g.input('past_bias', TensorType.FLOAT, [B, 1, 1, 'past_capacity']);
  const past = Array.from({ length: d.layers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, TensorType.FLOAT, [B, nKv, 'past_capacity', D]),
    value: g.input(`past_key_values.${i}.value`, TensorType.FLOAT, [B, nKv, 'past_capacity', D]),
  }));
  const logitsStart = g.input('logits_start', TensorType.INT64, [1]);
  g.output('logits', TensorType.FLOAT, [B, 'logits_length', V]);
  for (let i = 0; i < d.layers; i++)
    for (const kind of ['key', 'value']) g.output(`new.${i}.${kind}`, TensorType.FLOAT, [B, nKv, 'sequence_length', D]);

  // ---- per-call constants: causal mask over the G*S grouped query rows, and the score split sizes
  const seqLen = g.op('Shape', [inputIds], { start: 1, end: 2 }); // [1]
  const seqScalar = g.op('Squeeze', [seqLen, i64([0])]);
  const zero = g.constI64([0], []);
  const one = g.constI64([1], []);
  // grouped query row r is token r mod S
  const rowIdx = g.op('Mod', [g.op('Range', [zero, g.op('Mul', [seqScalar, g.constI64([G], [])]), one]), seqScalar]);
  const keyIdx = g.op('Range', [zero, seqScalar, one]);
  const future = g.op('Greater', [keyIdx, g.op('Unsqueeze', [rowIdx, i64([1])])]); // [G*S, S]
  const causal = g.op('Where', [future, g.constF32(FAST_MASK_VALUE), g.constF32(0)]);
  const capacity = g.op('Shape', [past[0].key], { start: 2, end: 3 });
  const splitSizes = g.op('Concat', [capacity, seqLen], { axis: 0 });

  const { cos, sin } = rotaryCaches(arch.invFreq, d.maxPositions);
  const cosCache = g.f32('rotary.cos_cache', [d.maxPositions, D / 2], cos);
  const sinCache = g.f32('rotary.sin_cache', [d.maxPositions, D / 2], sin);
  const rotary = (t: string, heads: number) =>
    g.ms('RotaryEmbedding', [t, positionIds, cosCache, sinCache], { interleaved: 0, num_heads: heads });

  // ---- embeddings: fp32 / fp16 table (+ Cast after the Gather), or int8 blocks (GatherBlockQuantized;
  // its data is 2-D, so the table's width must be whole blocks, else it stays fp16)
  const embedName = FAST_NAMES.table(FAST_NAMES.embedding); // also its HF name
  const embedW = read(embedName);
  const embedQuantized = bits > 0 && Hd % blockSize === 0;
  let embedTable = '';
  let embedNBits: NBitsInit | undefined;
  let x: string;
  if (embedQuantized) {
    embedNBits = nbitsInit(FAST_NAMES.embedding, embedW, V, Hd, EMBEDDING_BITS);
    const data = g.op('Reshape', [embedNBits.qweight, i64([V, (Hd * EMBEDDING_BITS) / 8])]);
    // MatMulNBits' symmetric zero point, 2^(bits-1), given explicitly: GatherBlockQuantized's default differs
    const zeroPoints = g.initializer(
      FAST_NAMES.zeroPoints(FAST_NAMES.embedding),
      TensorType.UINT8,
      [V, embedNBits.q.blocks],
      new Uint8Array(V * embedNBits.q.blocks).fill(1 << (EMBEDDING_BITS - 1)),
    );
    x = g.ms('GatherBlockQuantized', [data, inputIds, embedNBits.scales, zeroPoints], {
      gather_axis: 0,
      quantize_axis: 1,
      block_size: blockSize,
      bits: EMBEDDING_BITS,
    });
  } else {
    embedTable = dtype === 'fp32' ? g.f32(embedName, [V, Hd], embedW) : fp16Init(embedName, embedW, [V, Hd]);
    x = g.op('Gather', [embedTable, inputIds], { axis: 0 });
    if (dtype !== 'fp32') x = g.op('Cast', [x], { to: TensorType.FLOAT });
  }
  // HF casts the normalizer to the hidden dtype: float32(sqrt(hidden)).
  if (gemma) x = g.op('Mul', [x, g.constF32(Math.sqrt(Hd))]);

  let residual = x;
  let h = g.op('SimplifiedLayerNormalization', [x, normWeight(fastLayerNames(0).inputNorm)], {
    axis: -1,
    epsilon: eps,
  });
  const qScale = fastQueryScale(D);
  const headsOf = (t: string, n: number) =>
    g.op('Transpose', [g.op('Reshape', [t, i64([0, 0, n, D])])], { perm: [0, 2, 1, 3] });

  for (let i = 0; i < d.layers; i++) {
    const L = fastLayerNames(i);
    const p = L.prefix;
    const [qProj, kProj, vProj] = L.qkv.hf;
    const bias = (module: string) => (arch.qkvBias ? read(`${module}.bias`) : undefined);
    const qb = bias(qProj);
    const kb = bias(kProj);
    const vb = bias(vProj);
    // q, k and v in one linear over [W_q; W_k; W_v] (rows stacked, so every dtype encodes them exactly
    // as three): one weight stream and one op dispatch instead of three; Split gives them back.
    const qkvWeights = stack([
      read(`${qProj}.weight`).map((v) => v * qScale),
      read(`${kProj}.weight`),
      read(`${vProj}.weight`),
    ]);
    const qkvBias = qb && kb && vb ? stack([qb.map((v) => v * qScale), kb, vb]) : undefined;
    const qkv = linear(h, L.qkv.base, qkvWeights, (nH + 2 * nKv) * D, Hd, qkvBias);
    const [q, k, v] = g.node('Split', [qkv, i64([nH * D, nKv * D, nKv * D])], { attrs: { axis: -1 }, outputs: 3 });

    let qh = headsOf(rotary(q, nH), nH); // [B, H, S, D]
    if (G > 1) qh = g.op('Reshape', [qh, i64([0, nKv, -1, D])]); // [B, Hkv, G*S, D]
    const kNew = g.node('Transpose', [g.op('Reshape', [rotary(k, nKv), i64([0, 0, nKv, D])])], {
      attrs: { perm: [0, 2, 1, 3] },
      outputs: [`new.${i}.key`],
    })[0];
    const vNew = g.node('Transpose', [g.op('Reshape', [v, i64([0, 0, nKv, D])])], {
      attrs: { perm: [0, 2, 1, 3] },
      outputs: [`new.${i}.value`],
    })[0];
    // Transpose + MatMul becomes FusedMatMul(transB): the cache itself is not copied.
    const keysT = (t: string) => g.op('Transpose', [t], { perm: [0, 1, 3, 2] });
    const pastScores = g.op('Add', [g.op('MatMul', [qh, keysT(past[i].key)]), pastBias]);
    const newScores = g.op('Add', [g.op('MatMul', [qh, keysT(kNew)]), causal]);
    const probs = g.op('Softmax', [g.op('Concat', [pastScores, newScores], { axis: -1 })], { axis: -1 });
    const [pPast, pNew] = g.node('Split', [probs, splitSizes], { attrs: { axis: -1 }, outputs: 2 });
    let ctx = g.op('Add', [g.op('MatMul', [pPast, past[i].value]), g.op('MatMul', [pNew, vNew])]);
    if (G > 1) ctx = g.op('Reshape', [ctx, i64([0, nH, -1, D])]); // [B, H, S, D]
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), i64([0, 0, nH * D])]);
    const o = linear(merged, L.o.base, read(`${L.o.hf[0]}.weight`), Hd, nH * D);

    const [h2, , , sum1] = g.node('SkipSimplifiedLayerNormalization', [o, residual, normWeight(L.postAttentionNorm)], {
      attrs: { epsilon: eps },
      outputs: [g.fresh(`${p}.post_norm`), '', '', g.fresh(`${p}.attn_residual`)],
      domain: MS_DOMAIN,
    });
    const F = d.intermediateSize;
    // gate and up in one linear, as q/k/v above.
    const gateUpWeights = stack(L.gateUp.hf.map((m) => read(`${m}.weight`)));
    const gateUp = linear(h2, L.gateUp.base, gateUpWeights, 2 * F, Hd);
    const [gate, up] = g.node('Split', [gateUp, i64([F, F])], { attrs: { axis: -1 }, outputs: 2 });
    const act =
      arch.activation === 'gelu_tanh' ? g.ms('FastGelu', [gate]) : g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    const down = linear(g.op('Mul', [act, up]), L.down.base, read(`${L.down.hf[0]}.weight`), Hd, F);

    // The residual add and the next norm (next layer's input norm, or the final norm) in one op.
    const last = i === d.layers - 1;
    const nextNorm = normWeight(last ? FAST_NAMES.finalNorm : fastLayerNames(i + 1).inputNorm);
    const outs = g.node('SkipSimplifiedLayerNormalization', [down, sum1, nextNorm], {
      attrs: { epsilon: eps },
      outputs: [g.fresh(`${p}.next_norm`), '', '', last ? '' : g.fresh(`${p}.mlp_residual`)],
      domain: MS_DOMAIN,
    });
    h = outs[0];
    residual = outs[3];
  }

  // ---- lm_head, over the positions from logits_start on
  h = g.op('Slice', [h, logitsStart, i64([Number.MAX_SAFE_INTEGER]), i64([1])]);
  if (bits) {
    const head =
      d.tieWordEmbeddings && embedNBits
        ? embedNBits
        : nbitsInit(
            FAST_NAMES.lmHead,
            d.tieWordEmbeddings ? embedW : read(`${FAST_NAMES.lmHead}.weight`),
            V,
            Hd,
            EMBEDDING_BITS,
          );
    matMulNBits(h, head, 'logits');
  } else if (!d.tieWordEmbeddings) {
    linear(h, FAST_NAMES.lmHead, read(`${FAST_NAMES.lmHead}.weight`), V, Hd, undefined, 'logits');
  } else {
    // Tied fp32/fp16: Gemm(transB) reads the [V, H] embedding table as is, so it is stored once.
    const flat = g.op('Reshape', [h, i64([-1, Hd])]);
    const tableForHead = dtype === 'fp32' ? embedTable : g.op('Cast', [embedTable], { to: TensorType.FLOAT });
    const y = g.op('Gemm', [flat, tableForHead], { transB: 1 });
    const outShape = g.op('Concat', [g.op('Shape', [h], { start: 0, end: 2 }), i64([V])], { axis: 0 });
    g.node('Reshape', [y, outShape], { outputs: ['logits'] });
  }
  return { parameters, maxWeightError };
}
