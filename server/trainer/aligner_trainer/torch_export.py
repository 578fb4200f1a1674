"""The torch reference export, for the parity tests only: a Hugging Face model folder -> a model folder
in the Optimum layout (fp32, torch.onnx's TorchScript exporter), checked against torch. The model
folders users get come from `aligner export` (the TypeScript converter, fast layout); the parity tests
hold both to transformers' greedy tokens.

  OUT/config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
  special_tokens_map.json, aligner.json, onnx/model.onnx
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np

from . import events

SUPPORTED = ("llama", "gemma", "qwen2")
OPSET = 17
# float32 should match torch to rounding (seen: ~6e-7).
FP32_TOLERANCE = 1e-3


def load_model(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    model.config.use_cache = True
    if model.config.model_type not in SUPPORTED:
        events.log(f"warning: model_type {model.config.model_type} is untested (tested: {', '.join(SUPPORTED)})")
    return model


def export_onnx(model, path: Path) -> None:
    """torch.onnx's TorchScript exporter (dynamo=False): dynamic axes give Optimum's names and shapes."""
    import torch

    from .onnx_wrapper import DecoderWithCache, dynamic_axes, io_names, kv_shape

    layers, kv_heads, head_dim = kv_shape(model.config)
    batch, past_len, seq = 2, 3, 4  # nonzero everywhere, so no size is specialised away in the trace
    input_ids = torch.randint(4, model.config.vocab_size, (batch, seq))
    mask = torch.ones(batch, past_len + seq, dtype=torch.long)
    mask[0, :2] = 0
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)[:, past_len:]
    past = [torch.zeros(batch, kv_heads, past_len, head_dim) for _ in range(2 * layers)]
    inputs, outputs = io_names(layers)
    with torch.no_grad(), warnings.catch_warnings():
        # transformers' cache starts from torch.tensor([]); the trace records it as a constant, which
        # is right here (and the graph is checked against torch below)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            DecoderWithCache(model),
            (input_ids, mask, position_ids, *past),
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic_axes(layers),
            opset_version=OPSET,
            do_constant_folding=False,  # folding duplicates tied embedding weights
            dynamo=False,
        )


def compare_with_torch(model, model_dir: Path) -> dict[str, float]:
    """Prefill of a left-padded batch with an empty past, then one decode step: max |logits diff|."""
    import torch

    from .onnx_generate import OnnxDecoder

    decoder = OnnxDecoder(model_dir)
    rng = np.random.default_rng(0)
    batch, seq = 2, 7
    ids = rng.integers(4, model.config.vocab_size, (batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    mask[0, :3] = 0  # left padding
    pos = np.clip(np.cumsum(mask, 1) - 1, 0, None)
    logits, past = decoder.forward(ids, mask, pos, decoder.empty_past(batch))
    next_ids = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
    mask2 = np.concatenate([mask, np.ones((batch, 1), np.int64)], 1)
    logits2, _ = decoder.forward(next_ids, mask2, pos[:, -1:] + 1, past)
    diffs = {"prefill": 0.0, "decode": 0.0}
    with torch.no_grad():
        for b in range(batch):  # torch reference: each row alone, unpadded
            row = torch.tensor(np.concatenate([ids[b][mask[b] == 1], next_ids[b]]))[None]
            ref = model(input_ids=row).logits[0].numpy()
            n = int(mask[b].sum())
            diffs["prefill"] = max(diffs["prefill"], float(np.abs(logits[b, seq - n :] - ref[:n]).max()))
            diffs["decode"] = max(diffs["decode"], float(np.abs(logits2[b, 0] - ref[n]).max()))
    return diffs


def write_folder(model, source: Path, out: Path) -> None:
    """The Hugging Face files beside the graph: config, greedy generation config, the source's
    tokenizer (tokenizer.json byte for byte) and an aligner.json with the default template."""
    from .generation_files import write_generation_files
    from .tokenizer import load_tokenizer

    model.config.save_pretrained(str(out))
    tok = load_tokenizer(source)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.save_pretrained(str(out))
    shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
    specials = {k: getattr(tok, k) for k in ("bos_token", "eos_token", "pad_token", "unk_token") if getattr(tok, k, None)}
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2, ensure_ascii=False) + "\n")
    write_generation_files(out, model.config, tok, "correction")


def export_reference(source: Path, out: Path) -> dict[str, float]:
    """Writes OUT from the model folder SOURCE (with its tokenizer.json); returns the max |logits diff|
    against torch ({prefill, decode}) and fails when float32 rounding cannot explain it."""
    source, out = Path(source).resolve(), Path(out).resolve()
    model = load_model(source)
    out.mkdir(parents=True, exist_ok=True)
    write_folder(model, source, out)
    (out / "onnx").mkdir(exist_ok=True)
    export_onnx(model, out / "onnx" / "model.onnx")
    diffs = compare_with_torch(model, out)
    if max(diffs.values()) > FP32_TOLERANCE:
        raise AssertionError(f"the torch export's logits differ from torch by {max(diffs.values()):.3g}")
    return diffs
