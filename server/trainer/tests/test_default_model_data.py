"""The default model's mix filters (scripts/default-model-data.py): which Aligner-2B rows enter."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from conftest import REPO

_spec = importlib.util.spec_from_file_location("default_model_data", REPO / "scripts/default-model-data.py")
mix = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mix)

ANSWER = "Store passwords with a slow salted hash such as bcrypt or Argon2, never in plain text. Use a vetted library."


def row(correction: str, answer: str = ANSWER, question: str = "How should I store passwords?") -> dict:
    return {"question": question, "answer": answer, "correction": correction}


def test_script_artifact_is_foreign_punctuation_the_inputs_lack():
    assert mix.script_artifact(row(ANSWER.replace(".", "。")))
    assert mix.script_artifact(row(ANSWER.replace(",", "،")))
    assert not mix.script_artifact(row(ANSWER.replace("Use", "Always use")))
    # A question that is itself in Chinese may be answered with Chinese punctuation.
    assert not mix.script_artifact(row("密码。", answer="密码", question="怎么存密码？"))


def test_kept_correction_applies_each_filter_only_when_on():
    shortened = row(ANSWER[:60])  # a correction that drops the answer's second half
    assert mix.kept_correction(shortened, 0.0, 0.0, False)
    assert not mix.kept_correction(shortened, 0.0, 0.85, False)
    edited = row(ANSWER.replace("slow", "deliberately slow"))
    assert mix.kept_correction(edited, 60.0, 0.85, True)
    rewritten = row("Use a password manager and enable two-factor authentication on every account you have.")
    assert not mix.kept_correction(rewritten, 60.0, 0.0, False)
    assert mix.kept_correction(rewritten, 0.0, 0.0, False)
    slipped = row(ANSWER.replace(".", "。"))
    assert mix.kept_correction(slipped, 60.0, 0.85, False)
    assert not mix.kept_correction(slipped, 60.0, 0.85, True)


def test_mix_leaves_filtered_rows_and_validation_questions_out(tmp_path: Path):
    def write(path: Path, rows: list[dict]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    kept = row(ANSWER.replace("slow", "deliberately slow"), question="q-kept")
    cut = row(ANSWER[:50], question="q-cut")
    slipped = row(ANSWER.replace(".", "。"), question="q-slipped")
    hh = [row(f"answer {i}", answer=f"answer {i}", question=f"hh {i}") for i in range(30)]
    val = [row(ANSWER, question=f"val {i}") for i in range(30)]
    write(tmp_path / "alpaca/train.jsonl", [kept, cut, slipped])
    write(tmp_path / "hh/train.jsonl", hh)
    write(tmp_path / "hh_val.jsonl", val)
    write(tmp_path / "alpaca_val.jsonl", val)
    upstream = tmp_path / "upstream"
    for name in mix.UPSTREAM_IDENTITY_MODELS:
        write(upstream / f"{name}.jsonl", [{"question": "val 0", "answer": "held out"}, {"question": f"{name} q", "answer": "kept"}])

    mix.main(tmp_path, upstream, 60.0, 2, 5, min_length_ratio=0.85, drop_artifacts=True)

    rows = [json.loads(line) for line in (tmp_path / "mix.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [r["question"] for r in rows]
    assert "q-kept" in questions and "q-cut" not in questions and "q-slipped" not in questions
    assert not any(q.startswith("val ") for q in questions)
    assert sum(q.endswith(" q") for q in questions) == len(mix.UPSTREAM_IDENTITY_MODELS)
