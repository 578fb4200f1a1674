"""What the parity tests share: the prompts, transformers' greedy tokens for them, and the TypeScript
engine's (the built CLI's `aligner correct --json`, temperature 0)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import torch
from conftest import REPO

NEW_TOKENS = 24
CLI = REPO / "dist" / "server" / "cli" / "main.js"
ALIGNER = REPO / "bin" / "aligner.js"
CASES = [
    ("Eve has 2 pens and gets 5 more. How many pens does Eve have?", "Eve has 9 pens, obviously."),
    ("Why is the sky blue?", "Only a fool would ask."),
]
NO_CLI = f"{CLI.relative_to(REPO)} does not exist yet (npm run build)"


def node() -> str:
    path = shutil.which("node")
    assert path, "node is not on PATH"
    return path


def hf_greedy(model, tok, prompt_ids: list[int]) -> list[int]:
    """transformers' generate, greedy; the EOS that ends it is left out (the engine does not report it)."""
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([prompt_ids]),
            attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=NEW_TOKENS,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )[0, len(prompt_ids) :].tolist()
    return out[:-1] if out and out[-1] == tok.eos_token_id else out


def engine_correct(model_dir: Path, question: str, answer: str) -> dict:
    """`aligner correct --json` on the model folder, greedy, loop guard off (transformers' generate has
    none; parity is about the graph): the engine's text and tokenIds."""
    proc = subprocess.run(
        [node(), str(ALIGNER), "correct", "--model", str(model_dir), "--question", question, "--answer", answer,
         "--json", "--max-new-tokens", str(NEW_TOKENS), "--temperature", "0", "--loop-guard", "0"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
