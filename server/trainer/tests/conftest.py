from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAINER = Path(__file__).resolve().parents[1]
REPO = TRAINER.parents[1]
sys.path[:0] = [str(TRAINER), str(Path(__file__).parent)]

import synthetic  # noqa: E402


def run_cli(*args: str, timeout: float = 600, check: bool = True) -> tuple[list[dict], str, int]:
    """Runs `python -m aligner_trainer ARGS`; returns (events parsed from stdout, stderr, exit code).
    Every stdout line must be a JSON object: that is the contract the TypeScript side relies on."""
    env = {**os.environ, "PYTHONPATH": str(TRAINER)}
    proc = subprocess.run([sys.executable, "-m", "aligner_trainer", *args], capture_output=True, text=True, env=env, timeout=timeout)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all(isinstance(e, dict) and "event" in e for e in events)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return events, proc.stderr, proc.returncode


@pytest.fixture(scope="session")
def data_file(tmp_path_factory) -> Path:
    return synthetic.write(tmp_path_factory.mktemp("data") / "train.jsonl", 240)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, data_file) -> tuple[Path, list[dict]]:
    """One tiny CPU training run shared by the training and export tests."""
    run = tmp_path_factory.mktemp("runs") / "tiny"
    events, _, _ = run_cli(
        "train", "--data", str(data_file), "--out", str(run), "--preset", "tiny", "--vocab-size", "512",
        "--max-steps", "40", "--batch-size", "8", "--log-every", "1", "--save-every", "20", "--val-fraction", "0.1",
    )  # fmt: skip
    return run, events
