"""Builds the default model's fine-tuning mix from the split that train-default-model.sh made.

Why this mix (measured with SmolLM2-135M-Instruct, see MODEL_CARD.md): HH-RLHF's "chosen" answers are
mostly not edits of the "rejected" ones (chrF between them: median 18), and a model fine-tuned on all
of them learns generic deflections that score below the unedited answer. So HH enters as
  - the few pairs whose chosen answer does edit the rejected one (chrF >= HH_EDIT_CHRF), and
  - identity rows (Q-A-A), so the model keeps answers it has no reason to change,
while the Aligner-2B corrections of AlpacaEval (real corrections of strong upstream answers) are all
Q-A-C rows. Identity rows from the upstream models' AlpacaEval answers are mixed through the whole run,
not only in the warm-up. Validation questions never enter the mix.

Aligner-2B rewrites most answers from the first words on (chrF between answer and correction: median 48),
and a 135M model that learns that habit rewrites without knowing what to write: the shipped model's edits
moved 114 of 145 held-out answers away from the reference. --alpaca-edit-chrf keeps only the Aligner-2B
rows whose correction is an edit of the answer (the unchanged ones included), so the model learns which
answers to keep and what a small correction looks like.

Two opt-in filters for Aligner-2B rows that look like habits rather than corrections:
  - corrections much shorter than the answer (--alpaca-min-length-ratio): Aligner-2B's generation cut off
    or a closing paragraph dropped; stage 2's held-out edits were mostly such deletions (list items,
    steps, conclusions), the edits that moved answers furthest from the references;
  - corrections that bring CJK or Arabic characters into a row whose question and answer have none
    (--drop-script-artifacts): a bilingual model's slips ("。", "，", "？" in English text).
Tried on top of stage 2's recipe (MODEL_CARD.md, History), they did not help: the model still deleted, as
a copying model that skips ahead does, and scored lower. The shipped recipe leaves them off.

    usage: default-model-data.py WORK_DIR UPSTREAM_DIR [--alpaca-edit-chrf C] [--hh-identity N] [--upstream-identity N]
                                 [--alpaca-min-length-ratio R] [--drop-script-artifacts]
    (writes WORK_DIR/mix.jsonl, WORK_DIR/val_small.jsonl; the defaults make the first 135M model's mix)
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

SEED = 42
HH_EDIT_CHRF = 30.0  # chosen vs rejected: above this the chosen answer reuses much of the rejected one
HH_IDENTITY_ROWS = 400
UPSTREAM_IDENTITY_ROWS = 300
UPSTREAM_IDENTITY_MODELS = ("gpt4", "claude-2")  # answers worth keeping as they are
# CJK symbols and punctuation, full-width forms, CJK ideographs, Arabic: foreign to these English rows.
FOREIGN_SCRIPT = re.compile(r"[\u3000-\u303f\uff00-\uffef\u4e00-\u9fff\u0600-\u06ff]")
VAL_SMALL_PER_SOURCE = 24  # the trainer's eval loss; the real evaluation is `aligner eval`


def chrf(hypothesis: str, reference: str, order: int = 6, beta: float = 2.0) -> float:
    """Character n-gram F-score (Popovic 2015) as sacrebleu's chrF: whitespace removed, n = 1..6."""
    hyp, ref = hypothesis.replace(" ", ""), reference.replace(" ", "")
    precisions, recalls = [], []
    for n in range(1, order + 1):
        h = Counter(hyp[i : i + n] for i in range(len(hyp) - n + 1))
        r = Counter(ref[i : i + n] for i in range(len(ref) - n + 1))
        if not h or not r:
            continue
        match = sum((h & r).values())
        precisions.append(match / sum(h.values()))
        recalls.append(match / sum(r.values()))
    if not precisions:
        return 0.0
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return 0.0 if p + r == 0 else 100 * (1 + beta**2) * p * r / (beta**2 * p + r)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def script_artifact(row: dict) -> bool:
    """Whether the correction writes CJK/Arabic characters into a row whose question and answer have none."""
    return not FOREIGN_SCRIPT.search(row["question"] + row["answer"]) and bool(FOREIGN_SCRIPT.search(row["correction"]))


def kept_correction(row: dict, edit_chrf: float, min_length_ratio: float, drop_artifacts: bool) -> bool:
    """Whether an Aligner-2B row enters the mix (each filter off at 0 / False)."""
    if edit_chrf and chrf(row["answer"], row["correction"]) < edit_chrf:
        return False
    if len(row["correction"]) < min_length_ratio * len(row["answer"]):
        return False
    return not (drop_artifacts and script_artifact(row))


def identity(row: dict) -> dict:
    return {**row, "correction": row["answer"]}


def main(
    work: Path,
    upstream: Path,
    alpaca_edit_chrf: float,
    hh_identity_rows: int,
    upstream_identity_rows: int,
    min_length_ratio: float = 0.0,
    drop_artifacts: bool = False,
) -> None:
    rng = random.Random(SEED)
    hh, alpaca_all = read(work / "hh/train.jsonl"), read(work / "alpaca/train.jsonl")
    alpaca = [r for r in alpaca_all if kept_correction(r, alpaca_edit_chrf, min_length_ratio, drop_artifacts)]
    hh_val, alpaca_val = read(work / "hh_val.jsonl"), read(work / "alpaca_val.jsonl")
    held_out = {r["question"].strip() for r in hh_val + alpaca_val}

    hh_edits = [r for r in hh if chrf(r["answer"], r["correction"]) >= HH_EDIT_CHRF]
    hh_identity = [identity(r) for r in rng.sample(hh, hh_identity_rows)]
    upstream_rows = [
        {"question": r["question"].strip(), "answer": r["answer"].strip()}
        for name in UPSTREAM_IDENTITY_MODELS
        for r in read(upstream / f"{name}.jsonl")
        if r.get("answer", "").strip() and r["question"].strip() not in held_out
    ]
    upstream_identity = [identity(r) for r in rng.sample(upstream_rows, min(upstream_identity_rows, len(upstream_rows)))]

    mix = alpaca + hh_edits + hh_identity + upstream_identity
    rng.shuffle(mix)
    with (work / "mix.jsonl").open("w", encoding="utf-8") as out:
        for r in mix:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    val_small = rng.sample(hh_val, VAL_SMALL_PER_SOURCE) + rng.sample(alpaca_val, VAL_SMALL_PER_SOURCE)
    with (work / "val_small.jsonl").open("w", encoding="utf-8") as out:
        for r in val_small:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(
        f"mix: {len(alpaca)} of {len(alpaca_all)} AlpacaEval/Aligner-2B Q-A-C (edit chrF >= {alpaca_edit_chrf:g}, "
        f"length ratio >= {min_length_ratio:g}, script artifacts {'dropped' if drop_artifacts else 'kept'}), {len(hh_edits)} HH edits (chrF >= {HH_EDIT_CHRF:g}), "
        f"{len(hh_identity)} HH identity, {len(upstream_identity)} upstream identity = {len(mix)} rows; "
        f"val_small {len(val_small)} rows",
        file=sys.stderr,
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="the default model's fine-tuning mix")
    p.add_argument("work", type=Path)
    p.add_argument("upstream", type=Path)
    p.add_argument("--alpaca-edit-chrf", type=float, default=0.0, help="keep Aligner-2B rows whose correction scores this chrF to the answer (0: all)")
    p.add_argument("--hh-identity", type=int, default=HH_IDENTITY_ROWS, help="HH-RLHF identity rows")
    p.add_argument("--upstream-identity", type=int, default=UPSTREAM_IDENTITY_ROWS, help="identity rows from strong upstream answers")
    p.add_argument("--alpaca-min-length-ratio", type=float, default=0.0, help="drop Aligner-2B rows whose correction is shorter than this times the answer")
    p.add_argument("--drop-script-artifacts", action="store_true", help="drop Aligner-2B rows whose correction brings in CJK/Arabic characters")
    a = p.parse_args()
    main(a.work, a.upstream, a.alpaca_edit_chrf, a.hh_identity, a.upstream_identity, a.alpaca_min_length_ratio, a.drop_script_artifacts)
