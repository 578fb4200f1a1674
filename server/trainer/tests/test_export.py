"""`aligner export` on a run this trainer wrote, as an export job runs it (`--progress-json`): the
converter writes a fast-layout model folder with the run's metadata, `aligner correct` loads it, and
its greedy tokens equal transformers' generate on the run's final checkpoint for the parity prompts.
Without --dtype it writes the shipped format (int8). Needs the built CLI (npm run build)."""

import json
import subprocess

import onnx
import pytest
import torch
from parity import ALIGNER, CASES, CLI, NO_CLI, engine_correct, hf_greedy, node
from transformers import AutoModelForCausalLM

from aligner_trainer.templates import build_prompt
from aligner_trainer.tokenizer import load_tokenizer

pytestmark = pytest.mark.skipif(not CLI.exists(), reason=NO_CLI)

FILES = [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "aligner.json",
    "onnx/model.onnx",
]


def aligner_export(*args: str) -> tuple[list[dict], subprocess.CompletedProcess]:
    """`aligner export ARGS --progress-json`: its stdout events (every line one JSON object) and the process."""
    proc = subprocess.run([node(), str(ALIGNER), "export", *args, "--progress-json"], capture_output=True, text=True, timeout=300)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all(isinstance(e, dict) and "event" in e for e in events), proc.stdout
    return events, proc


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    run, _ = trained_run
    out = tmp_path_factory.mktemp("models") / "fp32"
    events, proc = aligner_export("--run", str(run), "--out", str(out), "--dtype", "fp32")
    assert proc.returncode == 0, proc.stderr
    return run, out, events[-1]


def test_export_writes_the_fast_layout_with_the_runs_metadata(exported):
    run, out, done = exported
    assert done["event"] == "done" and done["path"] == str(out)
    assert (done["layout"], done["dtype"], done["model_type"]) == ("fast", "fp32", "llama")
    assert done["onnx_bytes"] == (out / "onnx" / "model.onnx").stat().st_size and done["seconds"] >= 0
    for name in FILES:
        assert (out / name).is_file(), name
    assert sorted(p.name for p in out.parent.iterdir()) == ["fp32"], "no staging folder is left"
    final = run / "final"
    # the trainer's template and generation defaults, and how the folder was made
    assert json.loads((out / "aligner.json").read_text()) == {
        **json.loads((final / "aligner.json").read_text()),
        "layout": "fast",
        "dtype": "fp32",
    }
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "generation_config.json"):
        assert (out / name).read_bytes() == (final / name).read_bytes(), name
    graph = onnx.load(str(out / "onnx" / "model.onnx")).graph
    inputs = [i.name for i in graph.input]
    assert inputs[:3] == ["input_ids", "position_ids", "past_bias"] and "attention_mask" not in inputs  # the fast layout


def test_aligner_correct_greedy_tokens_equal_transformers_generate(exported):
    run, out, _ = exported
    model = AutoModelForCausalLM.from_pretrained(str(run / "final"), dtype=torch.float32).eval()
    tok = load_tokenizer(run / "final")
    for question, answer in CASES:
        expected = hf_greedy(model, tok, tok(build_prompt(question, answer)).input_ids)
        assert expected, "the model says something before EOS, so there is something to compare"
        result = engine_correct(out, question, answer)
        assert result["tokenIds"] == expected, question
        text = tok.decode(expected, skip_special_tokens=True)
        if "\ufffd" not in text:  # a barely trained model's bytes need not be valid UTF-8; the engine holds those back
            assert result["text"] == text


def test_without_a_dtype_the_export_is_the_shipped_format(trained_run, exported, tmp_path):
    run, _ = trained_run
    out = tmp_path / "shipped"
    events, proc = aligner_export("--run", str(run), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    done = events[-1]
    meta = json.loads((out / "aligner.json").read_text())
    assert done["dtype"] == meta["dtype"] == "int8" and meta["layout"] == "fast"
    assert done["block_size"] == meta["quantization"]["blockSize"] and meta["quantization"]["op"] == "MatMulNBits"
    assert done["onnx_bytes"] < exported[2]["onnx_bytes"]
    assert engine_correct(out, *CASES[0])["tokenIds"], "aligner correct loads it and generates"


def test_a_run_without_a_final_checkpoint_is_refused(tmp_path):
    run = tmp_path / "unfinished"
    (run / "checkpoints").mkdir(parents=True)
    events, proc = aligner_export("--run", str(run), "--out", str(tmp_path / "model"))
    assert proc.returncode == 1
    assert events[-1]["event"] == "error" and "no final checkpoint" in events[-1]["message"]
    assert "no final checkpoint" in proc.stderr
    assert not (tmp_path / "model").exists()
