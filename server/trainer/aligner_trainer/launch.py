"""Multi-GPU / multi-node launch: the launcher command line and a generated DeepSpeed ZeRO-3 config.

The parent `train` process builds the command and runs it; each child process runs the same
`python -m aligner_trainer train ...` under the launcher's environment (RANK, LOCAL_RANK, ...),
where the Hugging Face Trainer picks up DDP and, through TrainingArguments.deepspeed, ZeRO.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

LAUNCHERS = ("accelerate", "deepspeed")


def in_launched_child() -> bool:
    return "LOCAL_RANK" in os.environ or "RANK" in os.environ


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def zero_config(stage: int) -> dict[str, Any]:
    """ZeRO config; "auto" values are filled in by the Trainer from its arguments, so batch size,
    accumulation, clipping and precision are set in one place."""
    zero: dict[str, Any] = {"stage": stage, "overlap_comm": True, "contiguous_gradients": True, "reduce_bucket_size": "auto"}
    if stage == 3:
        zero.update(
            stage3_prefetch_bucket_size="auto",
            stage3_param_persistence_threshold="auto",
            stage3_max_live_parameters=1_000_000_000,
            stage3_max_reuse_distance=1_000_000_000,
            # save_pretrained then writes whole (gathered) 16-bit weights, loadable without DeepSpeed
            stage3_gather_16bit_weights_on_model_save=True,
        )
    return {
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "zero_optimization": zero,
        "zero_allow_untested_optimizer": True,  # the Trainer's torch AdamW with betas (0.9, 0.95)
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "steps_per_print": 1_000_000_000,  # progress comes from our own events
        "wall_clock_breakdown": False,
    }


def _venv_tool(name: str) -> str:
    tool = Path(sys.executable).parent / name
    return str(tool) if tool.exists() else name


def launch_command(
    child_args: list[str],
    *,
    launcher: str,
    gpus: int,
    nodes: int,
    node_rank: int,
    master_addr: str,
    master_port: int,
    bf16: bool,
) -> list[str]:
    """The command that starts gpus x nodes copies of `python -m aligner_trainer <child_args>`."""
    if launcher == "accelerate":
        return [
            _venv_tool("accelerate"), "launch",
            "--multi_gpu",  # one process per GPU over torch.distributed (also when DeepSpeed is used through the Trainer)
            "--num_processes", str(gpus * nodes),
            "--num_machines", str(nodes),
            "--machine_rank", str(node_rank),
            "--main_process_ip", master_addr,
            "--main_process_port", str(master_port),
            "--mixed_precision", "bf16" if bf16 else "no",
            "--dynamo_backend", "no",
            "--module", "aligner_trainer", *child_args,
        ]  # fmt: skip
    if launcher == "deepspeed":
        return [
            _venv_tool("deepspeed"),
            "--num_gpus", str(gpus),
            "--num_nodes", str(nodes),
            "--node_rank", str(node_rank),
            "--master_addr", master_addr,
            "--master_port", str(master_port),
            "--no_local_rank",
            *(["--no_ssh"] if nodes > 1 else []),  # one launch per node, like accelerate
            "--module", "aligner_trainer", *child_args,
        ]  # fmt: skip
    raise ValueError(f"launcher must be one of {LAUNCHERS}")


def shell_line(command: list[str], env: dict[str, str]) -> str:
    return " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.join(command)])
