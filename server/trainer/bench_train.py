#!/usr/bin/env python3
"""Training throughput of the presets on this machine, through the real `train` command.

Each configuration trains for a few steps on generated text (batch 16 x ~256 tokens, loss on about
half of them, like the measurements in shared/notes/training.md) and reports the median of the
per-step tokens/s after the first steps. Results go to stdout and bench/results/train.json.

  .venv/bin/python server/trainer/bench_train.py                     # tiny and small, bf16 and fp32
  .venv/bin/python server/trainer/bench_train.py --presets base --steps 4
  .venv/bin/python server/trainer/bench_train.py --presets "" --base runs/default-data/smollm2-135m-instruct \
      --batch 4 --max-length 512 --precisions bf16          # the default model's fine-tune (135M)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# The default model's base, where scripts/train-default-model.sh converted it: measured when present.
DEFAULT_BASE = REPO / "runs" / "default-data" / "smollm2-135m-instruct"


def words(n: int, rng: random.Random) -> list[str]:
    onsets = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "ch", "st", "th", "tr"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou"]
    codas = ["", "", "n", "r", "s", "t", "l", "nd", "ng"]
    out = set()
    while len(out) < n:
        out.add("".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(rng.randint(1, 3))))
    return sorted(out)


def write_data(path: Path, rows: int = 1500) -> None:
    rng = random.Random(0)
    vocab = words(4000, rng)
    weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf-like, as in text

    def text(n: int) -> str:
        return " ".join(rng.choices(vocab, weights, k=n)).capitalize() + "."

    with open(path, "w", encoding="utf-8") as f:
        for _ in range(rows):
            # ~45% of the tokens are the correction (the labelled part), the rest the prompt
            f.write(json.dumps({"question": text(35), "answer": text(35), "correction": text(70)}) + "\n")


def run_one(data: Path, preset: str, precision: str, threads: int, steps: int, batch: int, max_length: int) -> dict:
    """preset: a from-scratch preset name, or "base:DIR" to fine-tune the Hugging Face model in DIR."""
    model = ["--base", preset.split(":", 1)[1], "--grad-accum", "1"] if preset.startswith("base:") else ["--preset", preset]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "aligner_trainer", "train", "--data", str(data), "--out", str(Path(tmp) / "run"),
            *model, "--precision", precision, "--threads", str(threads), "--max-steps", str(steps),
            "--batch-size", str(batch), "--max-length", str(max_length), "--log-every", "1", "--save-every", "1000000",
            "--val-fraction", "0", "--warmup-identity", "0",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(HERE)}
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    start = next(e for e in events if e["event"] == "start")
    rates = [e["tokens_per_s"] for e in events if e["event"] == "step"][2:]  # skip warm-up steps
    return {
        "preset": preset,
        "model_type": start["model_type"],
        "parameters": start["parameters"],
        "vocab_size": start["vocab_size"],
        "precision": precision,
        "threads": threads,
        "batch": batch,
        "max_length": max_length,
        "steps_measured": len(rates),
        "tokens_per_s": round(statistics.median(rates), 1),
        "tokens_per_s_min": round(min(rates), 1),
        "tokens_per_s_max": round(max(rates), 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def machine() -> dict:
    import torch

    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "PASSIVE (the trainer's default)"),
        "load_average_at_start": os.getloadavg(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="tiny,small", help='comma-separated; "" for none')
    p.add_argument(
        "--base",
        action="append",
        metavar="DIR",
        help=f"also fine-tune this Hugging Face model (default: {DEFAULT_BASE.relative_to(REPO)} when it exists)",
    )
    p.add_argument("--precisions", default="bf16,fp32")
    p.add_argument("--threads", default=str(os.cpu_count()), help="comma-separated thread counts")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per configuration; the best is kept (other load on a shared machine only slows runs down)",
    )
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--out", default=str(REPO / "bench" / "results" / "train.json"))
    a = p.parse_args()
    if a.base is None:
        a.base = [str(DEFAULT_BASE)] if (DEFAULT_BASE / "config.json").is_file() else []
        if not a.base:
            print(f"no {DEFAULT_BASE}: the 135M fine-tune is not measured (scripts/train-default-model.sh makes it)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bench.jsonl"
        write_data(data)
        info = machine()
        results = []
        for preset in [x for x in a.presets.split(",") if x] + [f"base:{d}" for d in a.base]:
            for precision in a.precisions.split(","):
                for threads in map(int, a.threads.split(",")):
                    runs = [run_one(data, preset, precision, threads, a.steps, a.batch, a.max_length) for _ in range(a.repeat)]
                    r = max(runs, key=lambda x: x["tokens_per_s"])
                    r["runs"] = [x["tokens_per_s"] for x in runs]
                    r["load_average_1min"] = round(os.getloadavg()[0], 2)
                    results.append(r)
                    print(
                        f"{Path(preset).name:6} {r['parameters'] / 1e6:6.2f}M {precision:5} threads {threads}: "
                        f"{r['tokens_per_s']:8.0f} tokens/s (steps: min {r['tokens_per_s_min']:.0f}, max {r['tokens_per_s_max']:.0f}; "
                        f"runs {r['runs']}; load {r['load_average_1min']})",
                        flush=True,
                    )
    info["load_average_at_end"] = os.getloadavg()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"benchmark": "train", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": info, "results": results}, indent=2)
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
