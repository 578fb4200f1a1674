"""`aligner export-data` output as TRL's trainers read it: the built CLI writes SFT and DPO files from an
eval run folder, and the `datasets` library loads them with the conversational columns SFTTrainer
(`messages`) and DPOTrainer (`prompt`, `chosen`, `rejected`) expect."""

import json
import shutil
import subprocess

import pytest
from conftest import REPO

BIN = REPO / "bin" / "aligner.js"
BUILT = REPO / "dist" / "server" / "cli" / "main.js"


def record(rid, **fields):
    """One rows.jsonl record as `aligner eval` writes it (docs/eval.md, Outputs)."""
    return {
        "id": rid, "source": "qac.jsonl", "line": 1, "kind": "qac", "upstream": "gpt",
        "question": f"question {rid}", "answer": f"answer {rid}", "correction": f"corrected {rid}",
        "finishReason": "stop", "promptTokens": 10, "completionTokens": 5, "latencyMs": 12,
        "judges": {"basic": {"copy": False}}, **fields,
    }  # fmt: skip


@pytest.fixture
def eval_run(tmp_path):
    run = tmp_path / "eval-run"
    run.mkdir()
    rows = [
        record("a", context=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]),
        record("b"),
        record("c", correction="answer c"),  # kept the answer: an SFT row, no DPO pair
        record("d", finishReason="length"),  # truncated: skipped
        {k: v for k, v in record("e", error="upstream down").items() if k not in ("correction", "finishReason")},
    ]
    (run / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (run / "run.json").write_text('{"version": 1, "settings": {}}\n', encoding="utf-8")
    return run


def export(source, fmt, out):
    if shutil.which("node") is None or not BUILT.exists():
        pytest.skip("needs node and the built CLI (npm run build)")
    proc = subprocess.run(
        ["node", str(BIN), "export-data", "--from", str(source), "--format", fmt, "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc


def load(path, cache):
    datasets = pytest.importorskip("datasets", reason="the `datasets` library is not installed (scripts/setup-python.sh)")
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))


def is_conversation(value, roles=("user", "assistant")):
    """TRL's test for a conversational column: a list of {role, content} messages."""
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(set(m) == {"role", "content"} and m["role"] in roles and isinstance(m["content"], str) for m in value)
    )


def test_sft_export_loads_with_a_messages_column(eval_run, tmp_path):
    out = tmp_path / "sft.jsonl"
    proc = export(eval_run, "sft", out)
    assert "1 truncated" in proc.stderr and "1 errored" in proc.stderr
    ds = load(out, tmp_path / "cache")
    assert ds.column_names == ["messages"]
    assert len(ds) == 3
    assert all(is_conversation(m) for m in ds["messages"])
    assert ds[0]["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "question a"},
        {"role": "assistant", "content": "corrected a"},
    ]
    assert [m[-1] for m in ds["messages"]][1:] == [
        {"role": "assistant", "content": "corrected b"},
        {"role": "assistant", "content": "answer c"},
    ]


def test_dpo_export_loads_with_prompt_chosen_rejected_columns(eval_run, tmp_path):
    out = tmp_path / "dpo.jsonl"
    proc = export(eval_run, "dpo", out)
    assert "1 unchanged" in proc.stderr
    ds = load(out, tmp_path / "cache")
    assert sorted(ds.column_names) == ["chosen", "prompt", "rejected"]
    assert len(ds) == 2
    for row in ds:
        assert is_conversation(row["prompt"]) and row["prompt"][-1]["role"] == "user"
        assert is_conversation(row["chosen"], ("assistant",)) and len(row["chosen"]) == 1
        assert is_conversation(row["rejected"], ("assistant",)) and len(row["rejected"]) == 1
        assert row["chosen"] != row["rejected"]
    assert ds[1] == {
        "prompt": [{"role": "user", "content": "question b"}],
        "chosen": [{"role": "assistant", "content": "corrected b"}],
        "rejected": [{"role": "assistant", "content": "answer b"}],
    }
    assert len(ds[0]["prompt"]) == 3
