"""`python -m aligner_trainer export`: a trained model to the folder layout the TypeScript engine loads
(Hugging Face files + Optimum's onnx/model.onnx with a KV cache), checked against torch.

  MODELDIR/config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
  special_tokens_map.json, aligner.json, onnx/model.onnx (+ onnx/model.onnx_data when large)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from . import events

DTYPES = ("fp32", "fp16", "int8")
SUPPORTED = ("llama", "gemma", "qwen2")
OPSET = 17
EXTERNAL_DATA_BYTES = 1 << 30  # weights above this go to onnx/model.onnx_data (protobuf's limit is 2 GiB)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aligner export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--run",
        required=True,
        metavar="DIR",
        help="a training run folder (its final/ or latest checkpoint), or a Hugging Face model folder",
    )
    p.add_argument("--out", required=True, metavar="MODELDIR")
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default="fp32",
        help="fp16: float16 weights and compute, float32 inputs/outputs; int8: dynamic int8 quantization of the linear layers",
    )
    p.add_argument("--template", help="prompt template recorded in aligner.json (default: the run's)")
    p.add_argument("--max-new-tokens", type=int, help="default generation length recorded in aligner.json")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-torch check")
    return p


def resolve_source(run: Path) -> tuple[Path, Path, dict]:
    """(model folder, tokenizer folder, aligner.json settings) for a run folder or a model folder."""
    if (run / "final" / "config.json").is_file():
        run = run / "final"
    if (run / "config.json").is_file():
        tok = run if (run / "tokenizer.json").is_file() or (run / "tokenizer_config.json").is_file() else run.parent / "tokenizer"
        aligner = json.loads((run / "aligner.json").read_text()) if (run / "aligner.json").is_file() else {}
        return run, tok, aligner
    from .hf_trainer import latest_checkpoint

    checkpoint = latest_checkpoint(str(run / "checkpoints"))
    if checkpoint is None:
        raise SystemExit(f"aligner export: {run} holds no model (no config.json, final/ or checkpoints/checkpoint-N)")
    settings = json.loads((run / "run.json").read_text())["settings"] if (run / "run.json").is_file() else {}
    return Path(checkpoint), run / "tokenizer", {"template": settings.get("template", "correction")}


def load_model(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    model.config.use_cache = True
    if model.config.model_type not in SUPPORTED:
        events.log(f"warning: model_type {model.config.model_type} is untested (tested: {', '.join(SUPPORTED)})")
    if "sliding_attention" in (getattr(model.config, "layer_types", None) or []):
        raise SystemExit("aligner export: sliding-window attention layers are not supported by this exporter")
    return model


def export_onnx(model, path: Path) -> None:
    """torch.onnx's TorchScript exporter (dynamo=False): dynamic axes give Optimum's names and shapes."""
    import torch

    from .onnx_wrapper import DecoderWithCache, dynamic_axes, io_names, kv_shape

    layers, kv_heads, head_dim = kv_shape(model.config)
    batch, past_len, seq = 2, 3, 4  # nonzero everywhere, so no size is specialised away in the trace
    input_ids = torch.randint(4, model.config.vocab_size, (batch, seq))
    mask = torch.ones(batch, past_len + seq, dtype=torch.long)
    mask[0, :2] = 0
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)[:, past_len:]
    past = [torch.zeros(batch, kv_heads, past_len, head_dim) for _ in range(2 * layers)]
    inputs, outputs = io_names(layers)
    with torch.no_grad(), warnings.catch_warnings():
        # transformers' cache starts from torch.tensor([]); the trace records it as a constant, which
        # is right here (and the graph is checked against torch below)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            DecoderWithCache(model),
            (input_ids, mask, position_ids, *past),
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic_axes(layers),
            opset_version=OPSET,
            do_constant_folding=False,  # folding duplicates tied embedding weights
            dynamo=False,
        )


def save_onnx(model_proto, path: Path) -> None:
    import onnx

    for f in (path, path.with_name(path.name + "_data")):
        f.unlink(missing_ok=True)
    large = sum(t.ByteSize() for t in model_proto.graph.initializer) > EXTERNAL_DATA_BYTES
    onnx.save_model(
        model_proto,
        str(path),
        save_as_external_data=large,
        all_tensors_to_one_file=True,
        location=path.name + "_data",
        size_threshold=1024,
    )


def toposort(graph) -> None:
    """Orders nodes so each comes after its inputs' producers (the float16 converter's Cast
    insertion can leave them out of order, which onnx.checker rejects)."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        rest = []
        for node in pending:
            if all(i in ready for i in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ValueError("the ONNX graph has a cycle or an undefined input")
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)


def convert_dtype(path: Path, dtype: str) -> None:
    import onnx

    if dtype == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = onnx.load(str(path))
        # keep_io_types: inputs/outputs (past/present, logits) stay float32, so the engine is unchanged.
        model = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
        toposort(model.graph)
        save_onnx(model, path)
    elif dtype == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process

        # Pre-processing folds the weights' Transpose nodes (exported without constant folding) so
        # the MatMuls see constant weights, which is what dynamic quantization quantizes.
        prepared, quantized = path.with_name("prepared.onnx"), path.with_name("quantized.onnx")
        quant_pre_process(str(path), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared), str(quantized), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        save_onnx(onnx.load(str(quantized)), path)
        for extra in [*path.parent.glob("prepared.onnx*"), *path.parent.glob("quantized.onnx*")]:
            extra.unlink()


def compare_with_torch(model, model_dir: Path) -> dict[str, float]:
    """Prefill of a left-padded batch with an empty past, then one decode step: max |logits diff|."""
    import torch

    from .onnx_generate import OnnxDecoder

    decoder = OnnxDecoder(model_dir)
    rng = np.random.default_rng(0)
    batch, seq = 2, 7
    ids = rng.integers(4, model.config.vocab_size, (batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    mask[0, :3] = 0  # left padding
    pos = np.clip(np.cumsum(mask, 1) - 1, 0, None)
    logits, past = decoder.forward(ids, mask, pos, decoder.empty_past(batch))
    next_ids = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
    mask2 = np.concatenate([mask, np.ones((batch, 1), np.int64)], 1)
    logits2, _ = decoder.forward(next_ids, mask2, pos[:, -1:] + 1, past)
    diffs = {"prefill": 0.0, "decode": 0.0}
    with torch.no_grad():
        for b in range(batch):  # torch reference: each row alone, unpadded
            row = torch.tensor(np.concatenate([ids[b][mask[b] == 1], next_ids[b]]))[None]
            ref = model(input_ids=row).logits[0].numpy()
            n = int(mask[b].sum())
            diffs["prefill"] = max(diffs["prefill"], float(np.abs(logits[b, seq - n :] - ref[:n]).max()))
            diffs["decode"] = max(diffs["decode"], float(np.abs(logits2[b, 0] - ref[n]).max()))
    return diffs


def write_tokenizer(tok_dir: Path, out: Path, context: int):
    from .tokenizer import load_tokenizer

    tok = load_tokenizer(tok_dir)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.save_pretrained(str(out))
    if (tok_dir / "tokenizer.json").is_file():
        shutil.copyfile(tok_dir / "tokenizer.json", out / "tokenizer.json")  # byte for byte what training used
    cfg_path = out / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    # A class name transformers 4 and 5 both read as "just tokenizer.json", and the real context length.
    if cfg.get("tokenizer_class") in (None, "TokenizersBackend"):
        cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg["model_max_length"] = context
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
    specials = {k: getattr(tok, k) for k in ("bos_token", "eos_token", "pad_token", "unk_token") if getattr(tok, k, None)}
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2, ensure_ascii=False) + "\n")
    return tok


def write_folder(model, tok_dir: Path, aligner: dict, out: Path, a: argparse.Namespace) -> None:
    from transformers import GenerationConfig

    model.config.save_pretrained(str(out))
    context = getattr(model.config, "max_position_embeddings", 2048)
    tok = write_tokenizer(tok_dir, out, context)

    max_new = a.max_new_tokens or aligner.get("generation", {}).get("maxNewTokens") or min(2048, context)
    try:
        gen = GenerationConfig.from_pretrained(str(model.name_or_path))
    except OSError:
        gen = GenerationConfig()
    gen.bos_token_id = tok.bos_token_id
    gen.eos_token_id = gen.eos_token_id if gen.eos_token_id is not None else tok.eos_token_id
    gen.pad_token_id = tok.pad_token_id
    gen.do_sample, gen.max_new_tokens = False, max_new
    gen.save_pretrained(str(out))
    template = a.template or aligner.get("template") or "correction"
    generation = {**aligner.get("generation", {}), "maxNewTokens": max_new}
    (out / "aligner.json").write_text(json.dumps({"template": template, "generation": generation}, indent=2) + "\n")


def export(a: argparse.Namespace) -> dict:
    started = time.perf_counter()
    run, out = Path(a.run).resolve(), Path(a.out).resolve()
    model_dir, tok_dir, aligner = resolve_source(run)
    events.log(f"exporting {model_dir} ({a.dtype}) to {out}")
    model = load_model(model_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        write_folder(model, tok_dir, aligner, tmp, a)
        onnx_path = tmp / "onnx" / "model.onnx"
        onnx_path.parent.mkdir()
        export_onnx(model, onnx_path)
        import onnx

        save_onnx(onnx.load(str(onnx_path)), onnx_path)  # one external-data file (or none) whatever the exporter wrote
        for stray in onnx_path.parent.iterdir():
            if stray.name not in ("model.onnx", "model.onnx_data"):
                stray.unlink()
        convert_dtype(onnx_path, a.dtype)
        onnx.checker.check_model(str(onnx_path), full_check=True)
        diffs = None if a.no_verify else compare_with_torch(model, tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(f.stat().st_size for f in (out / "onnx").iterdir())
    result = {
        "path": str(out),
        "dtype": a.dtype,
        "model_type": model.config.model_type,
        "onnx_bytes": size,
        "max_abs_diff": diffs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if diffs is not None:
        events.log(f"onnxruntime vs torch, max |logits diff|: prefill {diffs['prefill']:.3g}, decode {diffs['decode']:.3g}")
    return result


# float32 should match to rounding; fp16/int8 change the numbers by design and are only reported.
FP32_TOLERANCE = 1e-3


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    events.setup()
    import transformers

    transformers.logging.set_verbosity_warning()
    transformers.logging.disable_progress_bar()
    try:
        result = export(a)
        if a.dtype == "fp32" and result["max_abs_diff"] and max(result["max_abs_diff"].values()) > FP32_TOLERANCE:
            events.emit("error", message=f"exported logits differ from torch by {max(result['max_abs_diff'].values()):.3g}", **result)
            return 1
        events.emit("done", **result)
        return 0
    except SystemExit as e:
        if isinstance(e.code, str):
            events.log(e.code)
            events.emit("error", message=e.code)
            return 2
        raise
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        events.emit("error", message=f"{type(e).__name__}: {e}")
        return 1
