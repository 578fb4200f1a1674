"""The training run itself (called by train.main once settings are resolved)."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoTokenizer, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from transformers.trainer_utils import IntervalStrategy

from . import events
from .data import Row, load_rows, split_by_question
from .examples import Collator, ExampleDataset, build_stream, encode_eval
from .generation_files import write_generation_files
from .hf_trainer import AlignerTrainer, EventsCallback, Meter, add_labelled_loss, latest_checkpoint
from .launch import is_main_process
from .presets import build_model, count_parameters, freeze_lower_layers, make_config
from .settings import Settings, check_new_run, write_json_atomic
from .templates import build_prompt
from .tokenizer import load_tokenizer, train_bpe

SMALL_DATA = 200  # below this many rows no validation split is made by default


def _tokenizer_texts(rows: list[Row], template: str):
    for r in rows:
        yield build_prompt(r.question, r.answer, r.context, template)
        yield r.correction or ""


def prepare_tokenizer(s: Settings, rows: list[Row], run_dir: Path, resume: bool):
    tok_dir = run_dir / "tokenizer"
    if resume or tok_dir.is_dir():
        return load_tokenizer(tok_dir)
    if s.base:
        tok = AutoTokenizer.from_pretrained(s.base)
        if tok.eos_token_id is None:
            raise SystemExit(f"aligner train: the tokenizer in {s.base} has no EOS token")
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token  # padded positions are masked and unlabelled anyway
    else:
        events.log(f"training a {s.vocab_size}-token byte-level BPE tokenizer on {len(rows)} rows")
        tok = train_bpe(_tokenizer_texts(rows, s.template), s.vocab_size or 8192, s.model_type)
    tmp = run_dir / f".tokenizer.tmp-{os.uname().nodename}-{os.getpid()}"
    tok.save_pretrained(str(tmp))
    try:
        os.replace(tmp, tok_dir)
    except OSError:  # another node's main process (shared filesystem) was first: use its copy
        shutil.rmtree(tmp, ignore_errors=True)
        return load_tokenizer(tok_dir)
    return tok


def prepare_model(s: Settings, tok, run_dir: Path, resume: bool):
    init = run_dir / "init"
    if s.base:
        model = build_model(base=s.base)
    elif (init / "config.json").is_file():
        model = build_model(AutoConfig.from_pretrained(str(init)))
    else:
        config = make_config(s.preset, s.model_type, len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
        # (a resumed run builds from init/config.json above and gets its weights from the checkpoint)
        model = build_model(config)
    if not (init / "config.json").is_file():
        tmp = run_dir / f".init.tmp-{os.uname().nodename}-{os.getpid()}"
        model.config.save_pretrained(str(tmp))
        try:
            os.replace(tmp, init)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tok.pad_token_id
    if s.freeze_layers:
        trainable = freeze_lower_layers(model, s.freeze_layers)
        events.log(f"training {trainable / 1e6:.2f}M parameters: the embedding and layers 0-{s.freeze_layers - 1} are frozen")
    return add_labelled_loss(model)


def split_data(s: Settings) -> tuple[list[Row], list[Row]]:
    rows = load_rows(s.data)
    if s.val:
        return rows, load_rows(s.val)
    fraction = s.val_fraction if s.val_fraction >= 0 else (0.05 if len(rows) >= SMALL_DATA else 0.0)
    return split_by_question(rows, fraction)


def save_final(trainer: AlignerTrainer, tok, s: Settings, run_dir: Path) -> Path:
    final, tmp = run_dir / "final", run_dir / ".final.tmp"
    if trainer.args.should_save:
        shutil.rmtree(tmp, ignore_errors=True)
    trainer.model.config.use_cache = True  # the Trainer turns it off for training
    trainer.save_model(str(tmp))  # all ranks take part (ZeRO-3 gathers the weights)
    if trainer.args.should_save:
        tok.save_pretrained(str(tmp))
        write_generation_files(tmp, trainer.model.config, tok, s.template)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    return final


def train(s: Settings, *, resume: bool, threads: int | None, deepspeed_config: str | None) -> int:
    started = time.perf_counter()
    transformers.logging.set_verbosity_warning()
    transformers.logging.disable_progress_bar()  # tqdm bars on stderr while saving
    cuda = torch.cuda.is_available()
    if not cuda:
        torch.set_num_threads(threads or os.cpu_count() or 1)
    run_dir = Path(s.out)
    checkpoint_dir = run_dir / "checkpoints"
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_main_process():  # the other ranks may start after it has written run.json
        check_new_run(run_dir, resume)
        write_json_atomic(run_dir / "run.json", {"version": 1, "settings": asdict(s)})

    train_rows, val_rows = split_data(s)
    # Arguments first: they set up the distributed state, and with ZeRO-3 the model must be created
    # after them (weights are then partitioned as they are made).
    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        per_device_train_batch_size=s.batch_size,
        per_device_eval_batch_size=s.batch_size,
        gradient_accumulation_steps=s.grad_accum,
        max_steps=1,  # set below, once the stream is built for this world size
        learning_rate=s.lr,
        lr_scheduler_type="cosine",
        warmup_steps=s.warmup_ratio,  # < 1: a ratio of the total steps
        weight_decay=s.weight_decay,
        adam_beta1=s.adam_beta1,
        adam_beta2=s.adam_beta2,
        max_grad_norm=s.max_grad_norm,
        seed=s.seed,
        data_seed=s.seed,
        bf16=s.precision == "bf16",
        tf32=True if cuda else None,
        activation_checkpointing=s.gradient_checkpointing,
        use_cpu=not cuda,
        logging_strategy="steps",
        logging_steps=s.log_every,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=s.save_every,
        save_total_limit=s.keep_checkpoints,
        eval_strategy="steps" if val_rows else "no",
        eval_steps=s.eval_every,
        prediction_loss_only=True,
        train_sampling_strategy="sequential",  # the order is built by examples.build_stream
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=cuda,
        report_to="none",
        disable_tqdm=True,
        deepspeed=deepspeed_config,
        ddp_find_unused_parameters=False,
    )
    with args.main_process_first(desc="tokenizer and model config"):  # the others then read them
        tok = prepare_tokenizer(s, train_rows, run_dir, resume)
        transformers.set_seed(s.seed)  # the same initial weights on every rank and in every rerun
        model = prepare_model(s, tok, run_dir, resume)
    global_batch = s.batch_size * s.grad_accum * args.world_size
    stream = build_stream(
        tok,
        train_rows,
        template=s.template,
        max_length=s.max_length,
        warmup_fraction=s.warmup_identity,
        epochs=s.epochs,
        global_batch=global_batch,
        seed=s.seed,
        max_steps=s.max_steps,
    )
    if stream.dropped:
        events.log(f"{stream.dropped} row(s) dropped: no correction token fits --max-length {s.max_length}")
    eval_examples = encode_eval(tok, val_rows, s.template, s.max_length) if val_rows else []
    if not eval_examples:
        args.eval_strategy = IntervalStrategy.NO  # no validation row fits --max-length
    resume_from = latest_checkpoint(str(checkpoint_dir)) if resume else None
    if resume and resume_from is None:
        events.log("no complete checkpoint yet: starting from step 0")

    args.max_steps = stream.steps
    meter = Meter()
    callback = EventsCallback(meter, rows=len(train_rows), global_batch=global_batch)
    trainer = AlignerTrainer(
        model=model,
        args=args,
        train_dataset=ExampleDataset(stream.examples),
        eval_dataset=ExampleDataset(eval_examples) if eval_examples else None,
        data_collator=Collator(tok.pad_token_id),
        processing_class=tok,
        callbacks=[callback],
        meter=meter,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)

    events.emit(
        "start",
        run_dir=str(run_dir),
        model_type=model.config.model_type,
        parameters=count_parameters(model),
        vocab_size=model.config.vocab_size,
        train_rows=len(train_rows),
        val_rows=len(val_rows),
        warmup_examples=stream.warmup_examples,
        max_steps=stream.steps,
        global_batch=global_batch,
        precision=s.precision,
        device="cuda" if cuda else "cpu",
        resumed_from=resume_from,
    )
    events.log(
        f"{count_parameters(model) / 1e6:.2f}M-parameter {model.config.model_type}; {len(train_rows)} train / {len(val_rows)} val rows; "
        f"{stream.steps} steps of {global_batch} examples; {s.precision} on {'cuda' if cuda else f'cpu x{torch.get_num_threads()}'}"
        + (f"; resuming from {resume_from}" if resume_from else "")
    )
    train_started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume_from)
    train_seconds = time.perf_counter() - train_started
    eval_loss = None
    if eval_examples:
        evals = [h for h in trainer.state.log_history if "eval_loss" in h]
        if evals and evals[-1].get("step") == trainer.state.global_step:
            eval_loss = evals[-1]["eval_loss"]
        else:
            eval_loss = trainer.evaluate()["eval_loss"]  # the callback emits its event
    final = save_final(trainer, tok, s, run_dir)
    events.emit(
        "done",
        step=trainer.state.global_step,
        train_loss=round(float(output.training_loss), 6),
        eval_loss=None if eval_loss is None else round(float(eval_loss), 6),
        tokens_per_s=round(meter.tokens / train_seconds, 1) if train_seconds > 0 else None,
        train_seconds=round(train_seconds, 1),
        total_seconds=round(time.perf_counter() - started, 1),
        path=str(final),
    )
    events.log(f"done: step {trainer.state.global_step}, model in {final}")
    return 0
