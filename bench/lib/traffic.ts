// Bytes a decode step must read from memory per generated token at batch 1, from config.json: the
// memory-bandwidth bound of decoding is these bytes / bandwidth.
// Counted: every linear layer's weights (q, k, v, o, gate, up, down per layer, and lm_head) in their
// stored encoding, the RMSNorm weights, and one embedding row (the input embedding is a gather, not a
// full read). MatMulNBits (int8/int4): per output row and block of 32 inputs, 32 x bits / 8 bytes of
// codes + a 4-byte fp32 scale (symmetric: no zero points). Not counted: rotary tables (a row per step)
// and activations. The KV cache read per token is reported separately: 2 x layers x kvHeads x
// headDim x 4 B per cached position.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type WeightDtype = 'fp32' | 'fp16' | 'int8' | 'int4';

export interface ModelShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
}

export function readShape(dir: string): ModelShape {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
  const heads = c.num_attention_heads!;
  return {
    hidden: c.hidden_size!,
    layers: c.num_hidden_layers!,
    heads,
    kvHeads: c.num_key_value_heads ?? heads,
    headDim: c.head_dim ?? c.hidden_size! / heads,
    intermediate: c.intermediate_size!,
    vocab: c.vocab_size!,
  };
}

const BLOCK = 32;

function linearBytes(N: number, K: number, dtype: WeightDtype): number {
  if (dtype === 'fp32') return N * K * 4;
  if (dtype === 'fp16') return N * K * 2;
  const bits = dtype === 'int8' ? 8 : 4;
  return N * Math.ceil(K / BLOCK) * ((BLOCK * bits) / 8 + 4);
}

/** Weight bytes read per token (see the header for what is counted). */
export function weightBytesPerToken(s: ModelShape, dtype: WeightDtype): number {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  const perLayer = [
    [q, s.hidden],
    [kv, s.hidden],
    [kv, s.hidden],
    [s.hidden, q],
    [s.intermediate, s.hidden],
    [s.intermediate, s.hidden],
    [s.hidden, s.intermediate],
  ].reduce((a, [N, K]) => a + linearBytes(N!, K!, dtype), 0);
  const embedRow = s.hidden * (dtype === 'fp32' ? 4 : 2);
  const norms = (2 * s.layers + 1) * s.hidden * 4;
  return s.layers * perLayer + linearBytes(s.vocab, s.hidden, dtype) + norms + embedRow;
}

/** KV cache bytes per cached position (keys and values of every layer, fp32). */
export const kvBytesPerPosition = (s: ModelShape) => 2 * s.layers * s.kvHeads * s.headDim * 4;
