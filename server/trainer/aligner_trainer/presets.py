"""Model presets for training from scratch, and model construction (from a config or a folder)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch and transformers load in seconds: only when a model is built
    import torch
    from transformers import PretrainedConfig, PreTrainedModel

MODEL_TYPES = ("llama", "gemma", "qwen2")


@dataclass(frozen=True)
class Preset:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int  # tokenizer target; the model's vocab_size is the trained tokenizer's size
    context: int  # max_position_embeddings
    lr: float  # from-scratch training wants a far higher lr than fine-tuning's 2e-5
    batch_size: int
    max_length: int


# recipe.json holds the paper's recipe and the from-scratch presets, shared with the VS Code extension's
# Train wizard (extension/runs/trainConfig.ts), so the two never disagree.
RECIPE_FILE = Path(__file__).with_name("recipe.json")
RECIPE = json.loads(RECIPE_FILE.read_text(encoding="utf-8"))

# tiny: ~1.3M parameters (llama), for tests and smoke runs; small: ~12.5M, trains on a CPU in hours;
# base: ~90M, a GPU run.
PRESETS: dict[str, Preset] = {
    name: Preset(**{k: v for k, v in p.items() if k != "description"}) for name, p in RECIPE["presets"].items()
}


def make_config(preset: str, model_type: str, vocab_size: int, bos_id: int, eos_id: int, pad_id: int) -> "PretrainedConfig":
    from transformers import GemmaConfig, LlamaConfig, Qwen2Config

    if model_type not in MODEL_TYPES:
        raise ValueError(f"model type must be one of {MODEL_TYPES}")
    p = PRESETS[preset]
    common = dict(
        vocab_size=vocab_size,
        hidden_size=p.hidden,
        intermediate_size=p.intermediate,
        num_hidden_layers=p.layers,
        num_attention_heads=p.heads,
        num_key_value_heads=p.kv_heads,
        max_position_embeddings=p.context,
        tie_word_embeddings=True,  # small models: the embedding is a large share of the parameters
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    if model_type == "llama":
        return LlamaConfig(**common)
    if model_type == "gemma":
        return GemmaConfig(**common, head_dim=p.hidden // p.heads)  # Gemma's default head_dim is 256
    return Qwen2Config(**common, use_sliding_window=False)


def build_model(config: "PretrainedConfig | None" = None, base: str | Path | None = None) -> "PreTrainedModel":
    """A fresh model from `config`, or the pretrained model in folder `base` (always float32 weights:
    mixed precision is applied by autocast, and the optimizer wants float32 master weights)."""
    import torch
    from transformers import AutoModelForCausalLM

    if base is not None:
        return AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    assert config is not None
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32)


def count_parameters(model: "torch.nn.Module") -> int:
    # Tied weights are one parameter object, so they are counted once.
    return sum(p.numel() for p in model.parameters())


def freeze_lower_layers(model: "PreTrainedModel", layers: int) -> int:
    """Keeps the input embedding (and so a tied output layer) and the first `layers` decoder layers as
    they are: why, a partial fine-tune of a shipped model changes only part of its file (a new version
    of a model kept in git then costs the changed layers, not the whole file). Returns the parameters
    left to train."""
    decoder = model.get_decoder()
    if layers > len(decoder.layers):
        raise SystemExit(f"aligner train: --freeze-layers {layers}, but the model has {len(decoder.layers)} layers")
    frozen = [model.get_input_embeddings(), *decoder.layers[:layers]]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
