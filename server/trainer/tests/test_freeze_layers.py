"""`--freeze-layers` fine-tunes only the layers above the first N of a `--base` model. With `aligner convert
--to hf` (a converted model folder read back, int8 weights as q * scale) it lets a new version of a shipped
int8 model change only the bytes of the layers it trained. On the tiny run the other tests share; needs
the built CLI (npm run build)."""

import subprocess

import numpy as np
import onnx
import pytest
from conftest import run_cli
from onnx import numpy_helper
from parity import ALIGNER, CLI, NO_CLI, node
from safetensors.numpy import load_file

pytestmark = pytest.mark.skipif(not CLI.exists(), reason=NO_CLI)


def aligner(*args: str) -> None:
    proc = subprocess.run([node(), str(ALIGNER), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def initializers(model_dir) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(model_dir / "onnx" / "model.onnx")).graph.initializer}


def train_partially(base, data_file, out, layers: int) -> dict[str, np.ndarray]:
    _, stderr, _ = run_cli(
        "train", "--data", str(data_file), "--out", str(out), "--base", str(base), "--freeze-layers", str(layers),
        "--max-steps", "4", "--batch-size", "8", "--lr", "1e-3", "--val-fraction", "0",
    )  # fmt: skip
    assert f"layers 0-{layers - 1} are frozen" in stderr
    return load_file(str(out / "final" / "model.safetensors"))


def assert_only_trained_changed(before: dict, after: dict, frozen: list[str], trained: list[str]) -> list[str]:
    """Every frozen tensor equal before and after; returns the trained ones that changed."""
    assert frozen and trained
    for name in frozen:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    return [name for name in trained if not np.array_equal(after[name], before[name])]


def test_freeze_layers_keeps_the_embedding_and_the_lower_layers(trained_run, tmp_path, data_file):
    run, _ = trained_run
    base = load_file(str(run / "final" / "model.safetensors"))
    tuned = train_partially(run / "final", data_file, tmp_path / "partial", 1)
    frozen = [k for k in base if k.startswith(("model.embed_tokens.", "model.layers.0."))]
    trained = [k for k in base if k.startswith("model.layers.1.")]
    changed = assert_only_trained_changed(base, tuned, frozen, trained)
    assert changed, "the layers above the frozen ones train"


def test_a_partial_fine_tune_of_a_shipped_int8_model_changes_only_the_trained_layers_bytes(trained_run, tmp_path, data_file):
    run, _ = trained_run
    shipped, again = tmp_path / "shipped", tmp_path / "again"
    aligner("export", "--run", str(run), "--out", str(shipped))  # the shipped format: int8
    aligner("convert", "--from", str(shipped), "--to", "hf", "--out", str(tmp_path / "hf"))
    train_partially(tmp_path / "hf", data_file, tmp_path / "partial", 2)
    aligner("export", "--run", str(tmp_path / "partial"), "--out", str(again))
    a, b = initializers(shipped), initializers(again)
    frozen = [k for k in a if k.endswith(".qweight") and k.startswith(("model.embed_tokens.", "model.layers.0.", "model.layers.1."))]
    trained = [k for k in a if k.endswith(".qweight") and k.startswith(("model.layers.2.", "model.layers.3."))]
    changed = assert_only_trained_changed(a, b, frozen, trained)
    assert sorted(changed) == sorted(trained), "every trained linear changed"


def test_freeze_layers_needs_a_base_and_at_most_the_models_layers(trained_run, tmp_path, data_file):
    run, _ = trained_run
    _, stderr, code = run_cli("train", "--data", str(data_file), "--out", str(tmp_path / "a"), "--freeze-layers", "1", check=False)
    assert code != 0 and "--freeze-layers fine-tunes part of a --base model" in stderr
    _, stderr, code = run_cli(
        "train", "--data", str(data_file), "--out", str(tmp_path / "b"), "--base", str(run / "final"), "--freeze-layers", "99",
        "--max-steps", "1", check=False,
    )  # fmt: skip
    assert code != 0 and "--freeze-layers 99, but the model has" in stderr
