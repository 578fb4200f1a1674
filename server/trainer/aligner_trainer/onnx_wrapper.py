"""A decoder-only model with an explicit KV cache, in the Optimum ONNX input/output layout.

Inputs: input_ids, attention_mask [batch, past+seq] (0 = padding, left padding allowed),
position_ids, past_key_values.{i}.key/.value [batch, kv_heads, past, head_dim] (past may be 0).
Outputs: logits [batch, seq, vocab], present.{i}.key/.value [batch, kv_heads, past+seq, head_dim].

The model runs with eager attention and a 4D mask built here from attention_mask, so the traced
graph has no data-dependent shortcuts (transformers skips or reshapes masks depending on the
inputs it was traced with). GQA's key/value repetition in transformers is expand + reshape, which
traces with dynamic shapes.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache, PreTrainedModel

# Large enough that exp() underflows to 0 next to any real score, small enough to stay finite in
# float16 (finfo(float32).min becomes -inf there, and a fully masked padding row would give NaN).
MASK_VALUE = -30000.0


def kv_shape(config) -> tuple[int, int, int]:
    """(layers, kv_heads, head_dim)."""
    heads = config.num_attention_heads
    kv = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers, kv, head_dim


def io_names(layers: int) -> tuple[list[str], list[str]]:
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    for i in range(layers):
        inputs += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    return inputs, outputs


def dynamic_axes(layers: int) -> dict[str, dict[int, str]]:
    axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(layers):
        for kind in ("key", "value"):
            axes[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
            axes[f"present.{i}.{kind}"] = {0: "batch_size", 2: "total_sequence_length"}
    return axes


class DecoderWithCache(torch.nn.Module):
    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.model = model
        self.layers = model.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        seq = input_ids.shape[1]
        past_len = past[0].shape[2]
        query_pos = torch.arange(seq, device=input_ids.device) + past_len
        key_pos = torch.arange(past_len + seq, device=input_ids.device)
        causal = key_pos[None, :] <= query_pos[:, None]  # [seq, total]
        keep = causal[None, None, :, :] & attention_mask[:, None, None, :].bool()  # [batch, 1, seq, total]
        mask = torch.zeros(keep.shape, dtype=torch.float32, device=input_ids.device).masked_fill(~keep, MASK_VALUE)
        cache = DynamicCache(ddp_cache_data=[(past[2 * i], past[2 * i + 1]) for i in range(self.layers)])
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids, cache=cache, use_cache=True)
        present = []
        for layer in out.cache.layers:
            present += [layer.keys, layer.values]
        return (out.logits, *present)
