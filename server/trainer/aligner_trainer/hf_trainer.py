"""The Hugging Face Trainer, with three changes for Aligner training:

- the loss computes the output layer only at labelled positions (the correction), not over the whole
  prompt: on a CPU the vocabulary projection of every prompt token is a large share of the work;
- checkpoints are written to a temporary folder and renamed, so `checkpoint-N` is always complete
  (a run killed while saving resumes from the previous one);
- progress is reported as JSON-lines events (events.py).
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer, TrainerCallback, get_scheduler
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

from . import events
from .examples import IGNORE


class LabelledLossMixin:
    """forward() with labels computes logits only where a label is set; without labels (generation,
    export) it is the model's own forward."""

    def forward(self, input_ids=None, attention_mask=None, labels=None, num_items_in_batch=None, **kwargs):
        if labels is None:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        kwargs.pop("use_cache", None)
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **kwargs).last_hidden_state
        targets = labels[:, 1:]
        keep = targets != IGNORE
        logits = self.lm_head(hidden[:, :-1][keep])
        softcap = getattr(self.config, "final_logit_softcapping", None)
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        # Same reduction as transformers' ForCausalLMLoss: a sum over the whole accumulated batch's
        # label count when the Trainer passes it, else a mean.
        if num_items_in_batch is None:
            loss = F.cross_entropy(logits.float(), targets[keep])
        else:
            loss = F.cross_entropy(logits.float(), targets[keep], reduction="sum") / num_items_in_batch
        return CausalLMOutputWithPast(loss=loss)


def add_labelled_loss(model: torch.nn.Module) -> torch.nn.Module:
    """Gives this model instance the labelled-positions loss (its class keeps its name, so
    save_pretrained writes the usual architecture)."""
    if not (hasattr(model, "model") and hasattr(model, "lm_head")):
        return model  # an unusual architecture keeps the full-logits loss
    cls = model.__class__
    model.__class__ = type(cls.__name__, (LabelledLossMixin, cls), {"__module__": cls.__module__})
    return model


class Meter:
    """Tokens (non-padding) seen by training steps, for tokens/s."""

    def __init__(self) -> None:
        self.tokens = 0


class AlignerTrainer(Trainer):
    def __init__(self, *args: Any, meter: Meter, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.meter = meter

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            self.meter.tokens += int(inputs["attention_mask"].sum()) * self.accelerator.num_processes
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None or not isinstance(self.lr_scheduler, torch.optim.lr_scheduler.LambdaLR):
            return
        # The saved scheduler state pins the total steps of the run that wrote it; a run resumed with
        # another --max-steps follows the schedule of its new total from the step it reached. The new
        # schedule is built on a stand-in optimizer so the real one's state is untouched.
        stand_in = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        fresh = get_scheduler(
            self.args.lr_scheduler_type,
            optimizer=stand_in,
            num_warmup_steps=self.args.get_warmup_steps(self.args.max_steps),
            num_training_steps=self.args.max_steps,
            scheduler_specific_kwargs=self.args.lr_scheduler_kwargs,
        )
        sched = self.lr_scheduler
        sched.lr_lambdas = fresh.lr_lambdas * (len(sched.base_lrs) // len(fresh.lr_lambdas))
        lrs = [base * fn(sched.last_epoch) for base, fn in zip(sched.base_lrs, sched.lr_lambdas)]
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        sched._last_lr = lrs

    def _save_checkpoint(self, model, trial):
        # Trainer writes into <output_dir>/checkpoint-N; point output_dir at a staging folder for the
        # duration, then rename the finished checkpoint into place.
        run_dir = self.args.output_dir
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = os.path.join(run_dir, f".staging-{name}")
        if self.args.should_save:
            shutil.rmtree(staging, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        limit, self.args.save_total_limit = self.args.save_total_limit, None
        self.args.output_dir = staging
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self.args.output_dir, self.args.save_total_limit = run_dir, limit
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            final = os.path.join(run_dir, name)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(os.path.join(staging, name), final)
            os.rmdir(staging)
            _fsync_dir(run_dir)
            self._rotate(run_dir)
        self.accelerator.wait_for_everyone()

    def _rotate(self, run_dir: str) -> None:
        limit = self.args.save_total_limit
        if not limit:
            return
        checkpoints = sorted(
            (d for d in os.listdir(run_dir) if d.startswith(f"{PREFIX_CHECKPOINT_DIR}-")),
            key=lambda d: int(d.rsplit("-", 1)[1]),
        )
        for old in checkpoints[:-limit]:
            shutil.rmtree(os.path.join(run_dir, old), ignore_errors=True)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def latest_checkpoint(checkpoint_dir: str) -> str | None:
    """The newest complete checkpoint (staging folders are never picked)."""
    if not os.path.isdir(checkpoint_dir):
        return None
    return get_last_checkpoint(checkpoint_dir)


class EventsCallback(TrainerCallback):
    """Turns the Trainer's logs and saves into step / eval / checkpoint events."""

    def __init__(self, meter: Meter, rows: int, global_batch: int):
        self.meter = meter
        self.rows = rows
        self.global_batch = global_batch
        self.start_time = self.last_time = 0.0
        self.start_step = self.last_step = 0
        self.last_tokens = 0

    def epoch_of(self, step: int) -> float:
        # Data passes over the rows; the identity warm-up's examples count as part of a pass.
        return round(step * self.global_batch / max(1, self.rows), 4)

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_time = self.last_time = time.perf_counter()
        self.start_step = self.last_step = state.global_step
        self.last_tokens = self.meter.tokens

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        step = state.global_step
        if "loss" in logs:
            now = time.perf_counter()
            elapsed = now - self.last_time
            tokens_per_s = (self.meter.tokens - self.last_tokens) / elapsed if elapsed > 0 else 0.0
            done = step - self.start_step
            eta = (now - self.start_time) / done * (state.max_steps - step) if done > 0 else None
            events.emit(
                "step",
                step=step,
                epoch=self.epoch_of(step),
                loss=round(float(logs["loss"]), 6),
                lr=float(logs.get("learning_rate", 0.0)),
                tokens_per_s=round(tokens_per_s, 1),
                eta_s=None if eta is None else round(eta, 1),
                grad_norm=None if logs.get("grad_norm") is None else round(float(logs["grad_norm"]), 6),
            )
            events.log(
                f"step {step}/{state.max_steps} loss {logs['loss']:.4f} lr {logs.get('learning_rate', 0):.2e} "
                f"{tokens_per_s:.0f} tok/s" + ("" if eta is None else f" eta {eta:.0f}s")
            )
            self.last_time, self.last_step, self.last_tokens = now, step, self.meter.tokens
        if "eval_loss" in logs:
            events.emit("eval", step=step, eval_loss=round(float(logs["eval_loss"]), 6))
            events.log(f"eval at step {step}: loss {logs['eval_loss']:.4f}")

    def on_save(self, args, state, control, **kwargs):
        path = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        events.emit("checkpoint", step=state.global_step, path=os.path.abspath(path))
