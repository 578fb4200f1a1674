// config.json / generation_config.json contents with the field names and conventions that
// transformers writes for each model_type (values mirror the real Llama, Gemma and Qwen2 releases).
import type { ModelDims } from '../onnx/modelDims.js';

export interface SpecialIds {
  bos: number | null;
  eos: number;
  pad: number;
}

const TRANSFORMERS_VERSION = '4.46.3';

export function buildHfConfig(d: ModelDims, ids: SpecialIds): Record<string, unknown> {
  const common = {
    head_dim: d.headDim,
    hidden_size: d.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: d.intermediateSize,
    max_position_embeddings: d.maxPositions,
    model_type: d.type,
    num_attention_heads: d.heads,
    num_hidden_layers: d.layers,
    num_key_value_heads: d.kvHeads,
    rms_norm_eps: d.rmsNormEps,
    rope_scaling: null,
    rope_theta: d.ropeTheta,
    tie_word_embeddings: d.tieWordEmbeddings,
    torch_dtype: 'float32',
    transformers_version: TRANSFORMERS_VERSION,
    use_cache: true,
    vocab_size: d.vocabSize,
  };
  switch (d.type) {
    case 'llama':
      return sortKeys({
        ...common,
        architectures: ['LlamaForCausalLM'],
        attention_bias: false,
        attention_dropout: 0.0,
        bos_token_id: ids.bos,
        eos_token_id: ids.eos,
        pad_token_id: ids.pad,
        hidden_act: 'silu',
        mlp_bias: false,
        pretraining_tp: 1,
      });
    case 'gemma':
      return sortKeys({
        ...common,
        architectures: ['GemmaForCausalLM'],
        attention_bias: false,
        attention_dropout: 0.0,
        bos_token_id: ids.bos,
        eos_token_id: ids.eos,
        pad_token_id: ids.pad,
        // Gemma configs carry both; transformers uses hidden_activation.
        hidden_act: 'gelu_pytorch_tanh',
        hidden_activation: 'gelu_pytorch_tanh',
      });
    case 'qwen2':
      return sortKeys({
        ...common,
        architectures: ['Qwen2ForCausalLM'],
        attention_dropout: 0.0,
        // Like the real Qwen2 configs, bos_token_id names <|endoftext|> although the tokenizer never adds a BOS.
        bos_token_id: ids.bos ?? ids.eos,
        eos_token_id: ids.eos,
        pad_token_id: ids.pad,
        hidden_act: 'silu',
        max_window_layers: d.layers,
        sliding_window: d.maxPositions,
        use_sliding_window: false,
      });
  }
}

export function buildGenerationConfig(d: ModelDims, ids: SpecialIds): Record<string, unknown> {
  return {
    _from_model_config: true,
    bos_token_id: d.type === 'qwen2' ? (ids.bos ?? ids.eos) : ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    transformers_version: TRANSFORMERS_VERSION,
  };
}

/** transformers writes config keys sorted. */
function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
