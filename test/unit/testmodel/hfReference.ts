// An independent, deliberately naive re-implementation of Hugging Face's Llama / Gemma / Qwen2
// forward pass (eager attention, repeat_kv, rotate_half RoPE), in float64 over the weights read
// back from model.onnx. The tests compare it with onnxruntime's logits to check that the generated
// graph computes what transformers would compute with the same weights.
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type Weights = Map<string, { dims: number[]; data: Float32Array }>;

export function readInitializers(modelPath: string): Weights {
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  const out: Weights = new Map();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== 1 || !t.rawData || t.rawData.length === 0) continue; // float32, inline only
    const raw = new Uint8Array(t.rawData); // copy: the decoded view may be unaligned
    out.set(t.name!, { dims: t.dims!.map(Number), data: new Float32Array(raw.buffer, 0, raw.byteLength / 4) });
  }
  return out;
}

/** The config.json fields the reference forward pass reads. */
export interface Cfg {
  model_type: string;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
}

type Mat = Float64Array[]; // rows

/** HF nn.Linear with the ONNX [in, out] weight layout: y = x W (+ b). */
function linear(x: Mat, w: { dims: number[]; data: Float32Array }, b?: { data: Float32Array }): Mat {
  const [inDim, outDim] = w.dims;
  return x.map((row) => {
    const y = new Float64Array(outDim);
    for (let i = 0; i < inDim; i++) {
      const xi = row[i];
      const off = i * outDim;
      for (let o = 0; o < outDim; o++) y[o] += xi * w.data[off + o];
    }
    if (b) for (let o = 0; o < outDim; o++) y[o] += b.data[o];
    return y;
  });
}

function rmsNorm(x: Mat, w: Float32Array, eps: number, gemma: boolean): Mat {
  return x.map((row) => {
    let ms = 0;
    for (const v of row) ms += v * v;
    const inv = 1 / Math.sqrt(ms / row.length + eps);
    return row.map((v, i) => v * inv * (gemma ? 1 + w[i] : w[i]));
  });
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** Logits [S][V] for one unpadded sequence at positions 0..S-1. */
export function referenceLogits(cfg: Cfg, W: Weights, ids: number[]): Float64Array[] {
  const get = (n: string) => {
    const w = W.get(n);
    if (!w) throw new Error(`missing weight ${n}`);
    return w;
  };
  const H = cfg.hidden_size;
  const D = cfg.head_dim;
  const nH = cfg.num_attention_heads;
  const nKV = cfg.num_key_value_heads;
  const nRep = nH / nKV;
  const gemma = cfg.model_type === 'gemma';
  const S = ids.length;
  const E = get('model.embed_tokens.weight');

  let x: Mat = ids.map((id) =>
    Float64Array.from(E.data.subarray(id * H, (id + 1) * H), (v) => (gemma ? v * Math.fround(Math.sqrt(H)) : v)),
  );

  // rotary: inv_freq[j] = theta^(-2j/D); emb = cat(freqs, freqs)
  const cos: Float64Array[] = [];
  const sin: Float64Array[] = [];
  for (let p = 0; p < S; p++) {
    const c = new Float64Array(D);
    const s = new Float64Array(D);
    for (let j = 0; j < D / 2; j++) {
      const f = p / Math.pow(cfg.rope_theta, (2 * j) / D);
      c[j] = c[j + D / 2] = Math.cos(f);
      s[j] = s[j + D / 2] = Math.sin(f);
    }
    cos.push(c);
    sin.push(s);
  }
  const applyRope = (v: Float64Array, p: number): Float64Array => {
    const out = new Float64Array(D);
    for (let j = 0; j < D; j++) {
      const rot = j < D / 2 ? -v[j + D / 2] : v[j - D / 2]; // rotate_half
      out[j] = v[j] * cos[p][j] + rot * sin[p][j];
    }
    return out;
  };
  const head = (row: Float64Array, h: number) => row.subarray(h * D, (h + 1) * D);

  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const bias = (n: string) => W.get(n);
    const h = rmsNorm(x, get(`${p}.input_layernorm.weight`).data, cfg.rms_norm_eps, gemma);
    const q = linear(h, get(`${p}.self_attn.q_proj.weight`), bias(`${p}.self_attn.q_proj.bias`));
    const k = linear(h, get(`${p}.self_attn.k_proj.weight`), bias(`${p}.self_attn.k_proj.bias`));
    const v = linear(h, get(`${p}.self_attn.v_proj.weight`), bias(`${p}.self_attn.v_proj.bias`));
    const ctx: Mat = Array.from({ length: S }, () => new Float64Array(nH * D));
    for (let hh = 0; hh < nH; hh++) {
      const kvh = Math.floor(hh / nRep); // repeat_kv
      const keys = k.map((row, t) => applyRope(head(row, kvh), t));
      for (let i = 0; i < S; i++) {
        const qi = applyRope(head(q[i], hh), i);
        const scores = new Float64Array(i + 1); // causal: keys 0..i
        for (let t = 0; t <= i; t++) {
          let dot = 0;
          for (let j = 0; j < D; j++) dot += qi[j] * keys[t][j];
          scores[t] = dot / Math.sqrt(D);
        }
        const m = Math.max(...scores);
        let z = 0;
        for (let t = 0; t <= i; t++) z += scores[t] = Math.exp(scores[t] - m);
        for (let t = 0; t <= i; t++) {
          const vt = head(v[t], kvh);
          for (let j = 0; j < D; j++) ctx[i][hh * D + j] += (scores[t] / z) * vt[j];
        }
      }
    }
    const attnOut = linear(ctx, get(`${p}.self_attn.o_proj.weight`));
    x = x.map((row, i) => row.map((val, j) => val + attnOut[i][j]));

    const h2 = rmsNorm(x, get(`${p}.post_attention_layernorm.weight`).data, cfg.rms_norm_eps, gemma);
    const gate = linear(h2, get(`${p}.mlp.gate_proj.weight`));
    const up = linear(h2, get(`${p}.mlp.up_proj.weight`));
    const act = gate.map((row, i) => row.map((g, j) => (gemma ? geluTanh(g) : silu(g)) * up[i][j]));
    const down = linear(act, get(`${p}.mlp.down_proj.weight`));
    x = x.map((row, i) => row.map((val, j) => val + down[i][j]));
  }
  const xn = rmsNorm(x, get('model.norm.weight').data, cfg.rms_norm_eps, gemma);
  if (cfg.tie_word_embeddings) {
    // lm_head.weight is the embedding matrix [V, H]
    return xn.map((row) => {
      const out = new Float64Array(cfg.vocab_size);
      for (let t = 0; t < cfg.vocab_size; t++) {
        let dot = 0;
        for (let j = 0; j < H; j++) dot += row[j] * E.data[t * H + j];
        out[t] = dot;
      }
      return out;
    });
  }
  return linear(xn, get('lm_head.weight'));
}
