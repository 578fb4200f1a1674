// Rotary embedding frequencies as transformers computes them (float32 arithmetic), including the
// llama3 and linear rope scalings, and the cos/sin tables of com.microsoft.RotaryEmbedding.
const f = Math.fround;

export interface RopeParams {
  theta: number;
  /** null or 'default': plain RoPE. */
  type: string;
  factor?: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

/** inv_freq[j] = 1 / theta^(2j / D), each step rounded to float32 like torch. */
export function defaultInvFreq(theta: number, headDim: number): Float32Array {
  const inv = new Float32Array(headDim / 2);
  for (let j = 0; j < headDim / 2; j++) inv[j] = f(1 / f(Math.pow(theta, f(f(2 * j) / headDim))));
  return inv;
}

export function ropeInvFreq(p: RopeParams, headDim: number): Float32Array {
  const inv = defaultInvFreq(p.theta, headDim);
  switch (p.type) {
    case 'default':
      return inv;
    case 'linear':
      return inv.map((v) => f(v / need(p.factor, 'factor')));
    case 'llama3': {
      const factor = need(p.factor, 'factor');
      const lo = need(p.lowFreqFactor, 'low_freq_factor');
      const hi = need(p.highFreqFactor, 'high_freq_factor');
      const oldLen = need(p.originalMaxPositions, 'original_max_position_embeddings');
      const lowWavelen = oldLen / lo;
      const highWavelen = oldLen / hi;
      return inv.map((v) => {
        const wavelen = f((2 * Math.PI) / v);
        const scaled = wavelen > lowWavelen ? f(v / factor) : v;
        if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
        const smooth = f(f(f(oldLen / wavelen) - lo) / (hi - lo));
        return f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
      });
    }
    default:
      throw new Error(`rope scaling "${p.type}" is not supported (supported: default, linear, llama3)`);
  }
}

function need(v: number | undefined, name: string): number {
  if (typeof v !== 'number') throw new Error(`rope scaling needs ${name}`);
  return v;
}

/**
 * cos/sin caches [maxPositions, D/2] for RotaryEmbedding: angle = float32(p * inv_freq[j]) as in
 * HF's float32 matmul, so positions far into the context round the same way.
 */
export function rotaryCaches(invFreq: Float32Array, maxPositions: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let j = 0; j < half; j++) {
      const angle = f(p * invFreq[j]);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
