"""Turns Q-A-C rows into token sequences, in training order, and pads them into batches.

Order: first the identity warm-up (Q-A-A, the correction is the answer itself) on a fraction of the
rows, then the Q-A-C rows, one shuffled pass per epoch. Within each phase, windows of batches are
grouped by length (less padding, which matters on a CPU); the order is a pure function of the data
and the seed, so a resumed run sees exactly the examples it had not seen yet.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from .data import Row
from .templates import build_prompt

IGNORE = -100
_WINDOW_BATCHES = 32  # batches per length-grouping window


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


def encode(tokenizer: Any, prompt: str, target: str, max_length: int) -> Example | None:
    """Prompt and target are tokenized separately, as the engine tokenizes the prompt alone and then
    generates; the loss covers the target tokens and EOS only. None if truncation leaves no target."""
    prompt_ids = tokenizer(prompt).input_ids  # with BOS where the tokenizer adds one
    target_ids = tokenizer(target, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
    ids = (prompt_ids + target_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + target_ids)[:max_length]
    if all(label == IGNORE for label in labels):
        return None
    return Example(ids, labels)


def encode_row(tokenizer: Any, row: Row, template: str, max_length: int, identity: bool = False) -> Example | None:
    prompt = build_prompt(row.question, row.answer, row.context, template)
    return encode(tokenizer, prompt, row.answer if identity else row.correction or "", max_length)


def _length_grouped(examples: list[Example], batch: int, rng: random.Random) -> list[Example]:
    rng.shuffle(examples)
    out: list[Example] = []
    window = batch * _WINDOW_BATCHES
    for start in range(0, len(examples), window):
        chunk = sorted(examples[start : start + window], key=lambda e: len(e.input_ids))
        batches = [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
        rng.shuffle(batches)
        out.extend(e for b in batches for e in b)
    return out


@dataclass
class Stream:
    examples: list[Example]
    warmup_examples: int
    dropped: int  # rows whose target did not survive truncation
    steps: int
    rows: int


def build_stream(
    tokenizer: Any,
    rows: Sequence[Row],
    *,
    template: str,
    max_length: int,
    warmup_fraction: float,
    epochs: float,
    global_batch: int,
    seed: int,
    max_steps: int | None = None,
) -> Stream:
    rng = random.Random(seed)
    qac = [e for e in (encode_row(tokenizer, r, template, max_length) for r in rows) if e is not None]
    dropped = len(rows) - len(qac)
    if not qac:
        raise ValueError(f"no training example fits max_length {max_length}")
    n_warm = round(warmup_fraction * len(rows))
    warm_rows = rng.sample(list(rows), n_warm) if n_warm else []
    warm = [e for e in (encode_row(tokenizer, r, template, max_length, identity=True) for r in warm_rows) if e is not None]

    stream = _length_grouped(warm, global_batch, rng)
    warm_len = len(stream)
    if max_steps is not None:
        needed = max_steps * global_batch
        passes = max(1, math.ceil((needed - warm_len) / len(qac)))
    else:
        passes = max(1, math.ceil(epochs))
    for p in range(passes):
        part = list(qac)
        if max_steps is None and p == passes - 1 and epochs % 1:
            part = rng.sample(part, max(1, round(len(part) * (epochs % 1))))  # a fractional last epoch
        stream += _length_grouped(part, global_batch, rng)
    if max_steps is not None:
        stream = stream[: max_steps * global_batch]
        steps = max_steps
    else:
        steps = math.ceil(len(stream) / global_batch)
    return Stream(stream, min(warm_len, len(stream)), dropped, steps, len(rows))


def encode_eval(tokenizer: Any, rows: Sequence[Row], template: str, max_length: int) -> list[Example]:
    examples = [e for e in (encode_row(tokenizer, r, template, max_length) for r in rows) if e is not None]
    return sorted(examples, key=lambda e: len(e.input_ids))  # less padding


class ExampleDataset(torch.utils.data.Dataset):
    def __init__(self, examples: list[Example]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> Example:
        return self.examples[i]


class Collator:
    """Right-pads a batch to a multiple of 8 tokens; padded labels are ignored by the loss."""

    def __init__(self, pad_id: int, multiple: int = 8):
        self.pad_id = pad_id
        self.multiple = multiple

    def __call__(self, batch: list[Example]) -> dict[str, torch.Tensor]:
        longest = max(len(e.input_ids) for e in batch)
        width = math.ceil(longest / self.multiple) * self.multiple
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, e in enumerate(batch):
            n = len(e.input_ids)
            ids[i, :n] = torch.tensor(e.input_ids)
            labels[i, :n] = torch.tensor(e.labels)
            mask[i, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
