import json
import os
import signal
import subprocess
import sys

from conftest import TRAINER, run_cli

from aligner_trainer.generation_files import LOOP_GUARD

SCHEMA = {
    "start": {"run_dir", "model_type", "parameters", "train_rows", "val_rows", "max_steps", "resumed_from"},
    "step": {"step", "epoch", "loss", "lr", "tokens_per_s", "eta_s"},
    "eval": {"step", "eval_loss"},
    "checkpoint": {"step", "path"},
    "done": {"step", "train_loss", "eval_loss", "tokens_per_s", "path"},
}


def check_schema(events):
    for e in events:
        assert SCHEMA[e["event"]] <= set(e), e


def test_tiny_model_trains_on_cpu_and_the_loss_goes_down(trained_run):
    run, events = trained_run
    check_schema(events)
    assert events[0]["event"] == "start" and events[0]["model_type"] == "llama" and 1e5 < events[0]["parameters"] < 3e6
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 41))
    first, last = sum(e["loss"] for e in steps[:5]) / 5, sum(e["loss"] for e in steps[-5:]) / 5
    assert last < first - 1.0, (first, last)
    evals = [e for e in events if e["event"] == "eval"]
    assert [e["step"] for e in evals] == [20, 40] and evals[-1]["eval_loss"] < evals[0]["eval_loss"]
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [20, 40]
    done = events[-1]
    assert done["event"] == "done" and done["step"] == 40 and done["tokens_per_s"] > 0
    final = run / "final"
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "aligner.json"):
        assert (final / name).is_file(), name
    aligner = json.loads((final / "aligner.json").read_text())
    assert aligner["template"] == "correction" and aligner["generation"]["loopGuard"] == LOOP_GUARD
    assert json.loads((final / "config.json").read_text())["use_cache"] is True


def test_killed_run_resumes_from_its_checkpoint(tmp_path, data_file):
    run = tmp_path / "run"
    args = ["train", "--data", str(data_file), "--out", str(run), "--preset", "tiny", "--vocab-size", "400",
            "--max-steps", "12", "--batch-size", "4", "--log-every", "1", "--save-every", "3"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(TRAINER)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aligner_trainer", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    checkpoint = None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "checkpoint":
            checkpoint = event
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert checkpoint is not None and proc.returncode == -signal.SIGKILL
    assert not (run / "final").exists()

    _, _, code = run_cli(*args, check=False)
    assert code == 2  # the folder holds a run: continuing it needs --resume

    events, _, _ = run_cli("train", "--out", str(run), "--resume")  # the run's own settings
    check_schema(events)
    # The same run without the kill: the resumed steps see the same data, optimizer, schedule and
    # RNG state, so they report the same losses.
    reference, _, _ = run_cli(*[str(tmp_path / "reference") if a == str(run) else a for a in args])
    expected = {e["step"]: e["loss"] for e in reference if e["event"] == "step"}
    resumed = {e["step"]: e["loss"] for e in events if e["event"] == "step"}
    for step, loss in resumed.items():
        assert abs(loss - expected[step]) < 1e-3, (step, loss, expected[step])
    start = events[0]
    resumed_step = int(start["resumed_from"].rsplit("-", 1)[1])
    assert resumed_step >= checkpoint["step"]
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps[0] == resumed_step + 1 and steps[-1] == 12
    assert events[-1]["event"] == "done" and events[-1]["step"] == 12
    assert (run / "final" / "model.safetensors").is_file()
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".staging")]


def test_bad_data_is_reported_with_file_and_line(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"question": "q", "answer": "a", "correction": "c"}\n{"question": "q"}\n')
    events, _, code = run_cli("train", "--data", str(f), "--out", str(tmp_path / "r"), "--preset", "tiny", "--dry-run", check=False)
    assert code == 0  # a dry run does not read the rows
    events, _, code = run_cli("train", "--data", str(f), "--out", str(tmp_path / "r"), "--preset", "tiny", check=False)
    assert code == 2 and events[-1]["event"] == "error"
    assert events[-1]["problems"] == [f'{f}:2: missing "answer"']


def test_dry_run_prints_the_launch_command_and_zero3_config(tmp_path, data_file):
    events, _, _ = run_cli("train", "--data", str(data_file), "--out", str(tmp_path / "r"), "--preset", "small", "--dry-run")
    (e,) = events
    assert e["event"] == "dry_run" and e["command"][1:4] == ["-m", "aligner_trainer", "train"] and "--dry-run" not in e["command"]
    assert e["settings"]["lr"] == 6e-4 and e["settings"]["adam_beta2"] == 0.95 and e["settings"]["warmup_identity"] == 0.2
    assert not (tmp_path / "r").exists()

    events, _, _ = run_cli(
        "train", "--data", str(data_file), "--out", str(tmp_path / "r"), "--base", str(tmp_path),
        "--gpus", "8", "--nodes", "2", "--node-rank", "1", "--master-addr", "10.0.0.1", "--dry-run",
    )  # fmt: skip
    (e,) = events
    cmd = e["command"]
    assert cmd[0].endswith("accelerate") and cmd[1] == "launch"
    assert cmd[cmd.index("--num_processes") + 1] == "16" and cmd[cmd.index("--machine_rank") + 1] == "1"
    child = cmd[cmd.index("--module") + 1 :]
    assert child[:2] == ["aligner_trainer", "train"] and "--gpus" not in child and "--dry-run" not in child
    assert child[child.index("--deepspeed-config") + 1] == e["deepspeed_config_path"]
    assert e["deepspeed_config"]["zero_optimization"]["stage"] == 3
    s = e["settings"]
    assert (s["lr"], s["batch_size"], s["grad_accum"], s["max_length"], s["warmup_ratio"], s["weight_decay"]) == (
        2e-5,
        4,
        8,
        2048,
        0.03,
        0.0,
    )
    assert (s["adam_beta1"], s["adam_beta2"], s["max_grad_norm"], s["seed"]) == (0.9, 0.95, 1.0, 42)




def test_resume_reads_a_run_json_written_by_an_older_trainer(tmp_path, data_file):
    # A run started before a setting was removed (e.g. copy_init) must still resume.
    run = tmp_path / "old"
    run_cli("train", "--data", str(data_file), "--out", str(run), "--preset", "tiny", "--max-steps", "2", "--save-every", "1")
    saved = json.loads((run / "run.json").read_text())
    saved["settings"]["copy_init"] = 0
    (run / "run.json").write_text(json.dumps(saved))
    sys.path.insert(0, str(TRAINER))
    from aligner_trainer.train import load_settings

    s = load_settings(run)
    assert s.max_steps == 2 and not hasattr(s, "copy_init")


def test_resume_with_max_steps_extends_the_run_and_its_schedule(tmp_path, data_file):
    run = tmp_path / "run"
    args = ["train", "--data", str(data_file), "--out", str(run), "--preset", "tiny", "--vocab-size", "400",
            "--max-steps", "6", "--batch-size", "4", "--log-every", "1", "--save-every", "3", "--warmup-ratio", "0"]  # fmt: skip
    first, _, _ = run_cli(*args)
    assert first[-1]["event"] == "done" and first[-1]["step"] == 6
    events, _, _ = run_cli("train", "--out", str(run), "--resume", "--max-steps", "10")
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [7, 8, 9, 10] and events[-1]["step"] == 10
    # the cosine schedule is rebuilt for 10 steps: the lr at step 7 is well above 0 (the 6-step one had ended)
    assert steps[0]["lr"] > 0.1 * json.loads((run / "run.json").read_text())["settings"]["lr"]
    assert json.loads((run / "run.json").read_text())["settings"]["max_steps"] == 10
