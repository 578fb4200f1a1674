"""Greedy generation with onnxruntime over an Optimum-layout model folder (torch_export.py's): the
parity tests' onnxruntime side, and that export's own self-check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np


class OnnxDecoder:
    def __init__(self, model_dir: str | Path, threads: int | None = None):
        import onnxruntime as ort

        model_dir = Path(model_dir)
        config = json.loads((model_dir / "config.json").read_text())
        self.layers = config["num_hidden_layers"]
        heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or heads
        self.head_dim = config.get("head_dim") or config["hidden_size"] // heads
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_dir / "onnx" / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]

    def empty_past(self, batch: int) -> dict[str, np.ndarray]:
        shape = (batch, self.kv_heads, 0, self.head_dim)
        return {f"past_key_values.{i}.{kind}": np.zeros(shape, dtype=np.float32) for i in range(self.layers) for kind in ("key", "value")}

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray, position_ids: np.ndarray, past: dict[str, np.ndarray]):
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids, **past}
        outputs = dict(zip(self.output_names, self.session.run(None, feeds)))
        present = {f"past_key_values.{i}.{kind}": outputs[f"present.{i}.{kind}"] for i in range(self.layers) for kind in ("key", "value")}
        return outputs["logits"], present

    def greedy(self, prompts: Sequence[Sequence[int]], max_new_tokens: int, eos_ids: Sequence[int], pad_id: int = 0) -> list[list[int]]:
        """Greedy continuation of each prompt (left-padded into one batch); EOS is not included."""
        batch = len(prompts)
        width = max(len(p) for p in prompts)
        ids = np.full((batch, width), pad_id, dtype=np.int64)
        mask = np.zeros((batch, width), dtype=np.int64)
        for i, p in enumerate(prompts):
            ids[i, width - len(p) :] = p
            mask[i, width - len(p) :] = 1
        positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
        logits, past = self.forward(ids, mask, positions, self.empty_past(batch))
        out: list[list[int]] = [[] for _ in range(batch)]
        finished = [False] * batch
        for _ in range(max_new_tokens):
            next_ids = logits[:, -1, :].argmax(-1)
            for i, t in enumerate(next_ids):
                if not finished[i]:
                    if int(t) in eos_ids:
                        finished[i] = True
                    else:
                        out[i].append(int(t))
            if all(finished):
                break
            mask = np.concatenate([mask, np.ones((batch, 1), dtype=np.int64)], axis=1)
            positions = positions[:, -1:] + 1
            logits, past = self.forward(next_ids[:, None].astype(np.int64), mask, positions, past)
        return out
