"""A training run's resolved settings and its run folder (run.json): shared by train.py, which resolves
them from the command line, and run.py, which trains with them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .presets import RECIPE

# The paper's recipe for fine-tuning a pretrained model (PKU-Alignment/aligner sft-correction.sh), from recipe.json.
OFFICIAL = {k: RECIPE["paper"][k] for k in ("lr", "batch_size", "grad_accum", "max_length")}


@dataclass
class Settings:
    data: list[str]
    val: str | None
    out: str
    preset: str | None
    model_type: str
    base: str | None
    vocab_size: int | None
    template: str
    max_length: int
    val_fraction: float
    warmup_identity: float
    epochs: float
    max_steps: int | None
    batch_size: int
    grad_accum: int
    lr: float
    warmup_ratio: float
    weight_decay: float
    adam_beta1: float
    adam_beta2: float
    max_grad_norm: float
    seed: int
    precision: str
    gradient_checkpointing: bool
    log_every: int
    save_every: int
    eval_every: int
    keep_checkpoints: int
    gpus: int = 1
    nodes: int = 1
    zero: int = 3
    launcher: str = "accelerate"
    data_sha256: dict[str, str] = field(default_factory=dict)
    freeze_layers: int = 0  # after data_sha256: runs saved before it existed load with the default


def write_json_atomic(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def check_new_run(run_dir: Path, resume: bool) -> None:
    if not resume and (run_dir / "run.json").exists():
        raise SystemExit(f"aligner train: {run_dir} already holds a run; pass --resume to continue it, or choose another --out")


def load_settings(run_dir: Path) -> Settings:
    path = run_dir / "run.json"
    if not path.is_file():
        raise SystemExit(f"aligner train --resume: {path} does not exist (nothing to resume)")
    saved = json.loads(path.read_text(encoding="utf-8"))["settings"]
    # a run started by an older trainer may carry settings this one no longer has (e.g. copy_init)
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in saved.items() if k in known})
