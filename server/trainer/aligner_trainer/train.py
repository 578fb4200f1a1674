"""`python -m aligner_trainer train`: supervised fine-tuning of an Aligner (Q-A-C, loss on the correction).

Run folder (--out):
  run.json                  resolved settings + data hashes (what --resume continues with)
  tokenizer/                the tokenizer (trained on the data when training from scratch)
  init/config.json          the model's config
  checkpoints/checkpoint-N  Trainer checkpoints (model, optimizer, scheduler, RNG, step)
  final/                    the trained model: Hugging Face folder + aligner.json (input of `aligner export`)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

from . import events
from .data import DataError
from .launch import LAUNCHERS, in_launched_child, is_main_process, launch_command, shell_line, zero_config
from .presets import MODEL_TYPES, PRESETS, RECIPE
from .settings import OFFICIAL, Settings, check_new_run, load_settings, write_json_atomic
from .templates import template_names

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aligner train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("data")
    g.add_argument("--data", nargs="+", metavar="FILE", help="Q-A-C JSONL file(s) (required unless --resume)")
    g.add_argument("--val", metavar="FILE", help="validation Q-A-C JSONL (default: split off --val-fraction by question)")
    g.add_argument(
        "--val-fraction",
        type=float,
        default=None,
        help="held-out share of questions when --val is absent (default 0.05 with >= 200 rows, else 0)",
    )
    g.add_argument("--template", choices=template_names(), default="correction")
    g.add_argument("--max-length", type=int, help="tokens per example (default: preset's, or 2048 with --base)")
    g.add_argument(
        "--warmup-identity",
        type=float,
        default=RECIPE["paper"]["warmup_identity"],
        metavar="FRACTION",
        help="identity (Q-A-A) warm-up on this share of the rows first (default 0.2; 0 disables)",
    )
    g = p.add_argument_group("model")
    g.add_argument("--out", required=True, metavar="RUNDIR")
    g.add_argument("--preset", choices=list(PRESETS), help="train from scratch with this size (default small)")
    g.add_argument("--model-type", choices=MODEL_TYPES, default="llama")
    g.add_argument("--base", metavar="DIR", help="fine-tune the pretrained Hugging Face model in DIR instead")
    g.add_argument("--vocab-size", type=int, help="BPE vocabulary size when training from scratch (default: preset's)")
    g.add_argument(
        "--freeze-layers",
        type=int,
        default=0,
        metavar="N",
        help="with --base: train only the layers above the first N and keep the embedding (and a tied output layer) as it is",
    )
    g = p.add_argument_group("optimization (defaults: the official Aligner recipe; from-scratch presets use their own lr and batch)")
    g.add_argument("--epochs", type=float, default=float(RECIPE["paper"]["epochs"]))
    g.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (overrides --epochs)")
    g.add_argument("--batch-size", type=int, help="per-device batch (default: preset's, or 4 with --base)")
    g.add_argument("--grad-accum", type=int, help="gradient accumulation steps (default 1, or 8 with --base)")
    g.add_argument("--lr", type=float, help="peak learning rate (default: preset's, or 2e-5 with --base)")
    g.add_argument("--warmup-ratio", type=float, default=0.03)
    g.add_argument("--weight-decay", type=float, default=0.0)
    g.add_argument("--adam-beta1", type=float, default=0.9)
    g.add_argument("--adam-beta2", type=float, default=0.95)
    g.add_argument("--max-grad-norm", type=float, default=1.0)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto", help="auto: bf16 autocast where the device supports it")
    g.add_argument("--gradient-checkpointing", choices=["auto", "on", "off"], default="auto", help="auto: on for GPU, off for CPU")
    g.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    g = p.add_argument_group("run")
    g.add_argument("--log-every", type=int, default=10, metavar="STEPS")
    g.add_argument("--save-every", type=int, default=500, metavar="STEPS")
    g.add_argument("--eval-every", type=int, metavar="STEPS", help="default: --save-every")
    g.add_argument("--keep-checkpoints", type=int, default=2)
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint, with its saved settings")
    g.add_argument("--dry-run", action="store_true", help="print the resolved settings and launch command as a JSON event; train nothing")
    g = p.add_argument_group("multi-GPU / multi-node (CUDA machines)")
    g.add_argument("--gpus", type=int, default=1, help="GPUs per node; > 1 launches one process per GPU")
    g.add_argument("--nodes", type=int, default=1)
    g.add_argument("--node-rank", type=int, default=0)
    g.add_argument("--master-addr", default="127.0.0.1")
    g.add_argument("--master-port", type=int, default=29500)
    g.add_argument("--launcher", choices=LAUNCHERS, default="accelerate")
    g.add_argument(
        "--zero", type=int, choices=[0, 2, 3], default=3, help="DeepSpeed ZeRO stage for multi-GPU runs (0: plain DDP, no DeepSpeed)"
    )
    g.add_argument("--deepspeed-config", help=argparse.SUPPRESS)  # set by the launcher parent for its children
    return p


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve(a: argparse.Namespace) -> Settings:
    if not a.data and not a.resume:
        raise SystemExit("aligner train: --data is required (except with --resume, which reuses the run's)")
    if a.base and a.preset:
        raise SystemExit("aligner train: --preset and --base are exclusive")
    if a.freeze_layers and not a.base:
        raise SystemExit("aligner train: --freeze-layers fine-tunes part of a --base model")
    if a.freeze_layers < 0:
        raise SystemExit("aligner train: --freeze-layers must be 0 or more")
    cuda = cuda_available()
    scratch = a.base is None
    preset = PRESETS[a.preset or "small"] if scratch else None
    max_length = a.max_length or (preset.max_length if preset else OFFICIAL["max_length"])
    if preset and max_length > preset.context:
        raise SystemExit(f"aligner train: --max-length {max_length} exceeds the preset's context {preset.context}")
    if a.precision == "auto":
        import torch

        precision = "bf16" if (torch.cuda.is_bf16_supported() if cuda else cpu_has_bf16()) else "fp32"
    else:
        precision = a.precision
    data = [str(Path(d).resolve()) for d in a.data or []]
    files = data + ([str(Path(a.val).resolve())] if a.val else [])
    return Settings(
        data=data,
        val=str(Path(a.val).resolve()) if a.val else None,
        out=str(Path(a.out).resolve()),
        preset=(a.preset or "small") if scratch else None,
        model_type=a.model_type,
        base=str(Path(a.base).resolve()) if a.base else None,
        vocab_size=a.vocab_size or (preset.vocab if preset else None),
        freeze_layers=a.freeze_layers,
        template=a.template,
        max_length=max_length,
        val_fraction=a.val_fraction if a.val_fraction is not None else -1.0,  # -1: decided by row count
        warmup_identity=a.warmup_identity,
        epochs=a.epochs,
        max_steps=a.max_steps,
        batch_size=a.batch_size or (preset.batch_size if preset else OFFICIAL["batch_size"]),
        grad_accum=a.grad_accum or (1 if preset else OFFICIAL["grad_accum"]),
        lr=a.lr or (preset.lr if preset else OFFICIAL["lr"]),
        warmup_ratio=a.warmup_ratio,
        weight_decay=a.weight_decay,
        adam_beta1=a.adam_beta1,
        adam_beta2=a.adam_beta2,
        max_grad_norm=a.max_grad_norm,
        seed=a.seed,
        precision=precision,
        gradient_checkpointing={"on": True, "off": False}.get(a.gradient_checkpointing, cuda),
        log_every=a.log_every,
        save_every=a.save_every,
        eval_every=a.eval_every or a.save_every,
        keep_checkpoints=a.keep_checkpoints,
        gpus=a.gpus,
        nodes=a.nodes,
        zero=a.zero,
        launcher=a.launcher,
        data_sha256={f: sha256_file(f) for f in files if Path(f).is_file()},
    )


def cpu_has_bf16() -> bool:
    """bf16 autocast pays off on CPUs with native bf16 dot products (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


# ---------------------------------------------------------------------------------------------


def child_argv(argv: list[str], ds_config: Path | None) -> list[str]:
    """The parent's arguments minus the launch-only ones, for each launched process."""
    out, skip = ["train"], False
    drop_with_value = {"--gpus", "--nodes", "--node-rank", "--master-addr", "--master-port", "--launcher", "--zero"}
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in drop_with_value:
            skip = "=" not in arg
            continue
        if name == "--dry-run":
            continue
        out.append(arg)
    if ds_config is not None:
        out += ["--deepspeed-config", str(ds_config)]
    return out


def launch_distributed(a: argparse.Namespace, argv: list[str], s: Settings) -> int:
    run_dir = Path(s.out)
    ds_path = run_dir / f"deepspeed_zero{s.zero}.json" if s.zero else None
    ds = zero_config(s.zero) if s.zero else None
    command = launch_command(
        child_argv(argv, ds_path),
        launcher=s.launcher if s.zero else "accelerate",
        gpus=s.gpus,
        nodes=s.nodes,
        node_rank=a.node_rank,
        master_addr=a.master_addr,
        master_port=a.master_port,
        bf16=s.precision == "bf16",
    )
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).resolve().parents[1]))}
    if a.dry_run:
        events.emit(
            "dry_run",
            command=command,
            shell=shell_line(command, env),
            deepspeed_config=ds,
            deepspeed_config_path=str(ds_path) if ds_path else None,
            settings=asdict(s),
        )
        return 0
    if s.zero:
        try:
            import deepspeed  # noqa: F401
        except ImportError:
            raise SystemExit(
                "aligner train: --zero needs DeepSpeed: run scripts/setup-python.sh --with-deepspeed (or pass --zero 0 for plain DDP)"
            ) from None
    run_dir.mkdir(parents=True, exist_ok=True)
    if ds_path is not None:
        write_json_atomic(ds_path, ds)
    events.log(f"launching {s.gpus * s.nodes} processes: {shell_line(command, env)}")
    # The children print the events (rank 0 only) to the real stdout.
    return subprocess.call(command, env={**os.environ, **env}, stdout=events.stdout())


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    events.setup(enabled=is_main_process())
    try:
        s = resolve(a)
        if a.resume:
            saved = load_settings(Path(s.out))
            changed = {k: v for k, v in saved.data_sha256.items() if not Path(k).is_file() or sha256_file(k) != v}
            if changed:
                raise DataError([f"{k}: changed or missing since the run started" for k in changed], "the run's data changed")
            # --max-steps may shorten or extend a resumed run: the example order is a prefix-stable
            # function of the seed, and the cosine schedule is rebuilt for the new total.
            overrides = {"max_steps": a.max_steps} if a.max_steps is not None else {}
            s = Settings(
                **{**asdict(saved), "gpus": s.gpus, "nodes": s.nodes, "zero": s.zero, "launcher": s.launcher, **overrides}
            )
            if overrides and is_main_process() and not a.dry_run:
                write_json_atomic(Path(s.out) / "run.json", {"version": 1, "settings": asdict(s)})
        if (s.gpus > 1 or s.nodes > 1) and not in_launched_child():
            if a.node_rank == 0 and not a.dry_run:
                check_new_run(Path(s.out), a.resume)
            return launch_distributed(a, argv, s)
        if a.dry_run:
            command = [sys.executable, "-m", "aligner_trainer", *child_argv(argv, None)]
            env = {"PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).resolve().parents[1]))}
            events.emit(
                "dry_run",
                command=command,
                shell=shell_line(command, env),
                deepspeed_config=None,
                deepspeed_config_path=None,
                settings=asdict(s),
            )
            return 0
        from .run import train  # heavy imports (torch, transformers) only when training

        return train(s, resume=a.resume, threads=a.threads, deepspeed_config=a.deepspeed_config)
    except DataError as e:
        events.log(str(e), always=True)
        events.emit("error", message=str(e).splitlines()[0], problems=e.problems[:200])
        return 2
    except SystemExit as e:
        if isinstance(e.code, str):
            events.log(e.code, always=True)
            events.emit("error", message=e.code)
            return 2
        raise
    except KeyboardInterrupt:
        events.emit("error", message="interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - reported as an event, with the traceback on stderr
        traceback.print_exc()
        events.emit("error", message=f"{type(e).__name__}: {e}")
        return 1
