import argparse
import json

import numpy as np
import onnx
import pytest
import torch
from conftest import run_cli
from transformers import AutoModelForCausalLM

from aligner_trainer.export import export
from aligner_trainer.onnx_generate import OnnxDecoder
from aligner_trainer.tokenizer import load_tokenizer

FILES = [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "aligner.json",
    "onnx/model.onnx",
]


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    run, _ = trained_run
    out = tmp_path_factory.mktemp("models") / "fp32"
    events, _, _ = run_cli("export", "--run", str(run), "--out", str(out))
    return run, out, events[-1]


def test_export_writes_the_optimum_layout(exported):
    run, out, done = exported
    assert done["event"] == "done" and done["dtype"] == "fp32" and done["model_type"] == "llama"
    for name in FILES:
        assert (out / name).is_file(), name
    assert json.loads((out / "aligner.json").read_text()) == {"template": "correction", "generation": {"maxNewTokens": 512}}
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "llama" and config["eos_token_id"] == 2
    assert json.loads((out / "special_tokens_map.json").read_text()) == {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
    }
    assert json.loads((out / "tokenizer_config.json").read_text())["model_max_length"] == 512
    generation = json.loads((out / "generation_config.json").read_text())
    assert generation["eos_token_id"] == 2 and generation["do_sample"] is False


def test_onnx_graph_has_the_kv_cache_interface(exported):
    _, out, _ = exported
    model = onnx.load(str(out / "onnx" / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert {o.domain: o.version for o in model.opset_import}[""] == 17
    layers = json.loads((out / "config.json").read_text())["num_hidden_layers"]

    def sig(values):
        return {v.name: (v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values}

    inputs, outputs = sig(model.graph.input), sig(model.graph.output)
    i64, f32 = onnx.TensorProto.INT64, onnx.TensorProto.FLOAT
    assert list(inputs)[:3] == ["input_ids", "attention_mask", "position_ids"]
    assert inputs["input_ids"] == (i64, ["batch_size", "sequence_length"])
    assert inputs["attention_mask"] == (i64, ["batch_size", "total_sequence_length"])
    assert inputs["position_ids"] == (i64, ["batch_size", "sequence_length"])
    assert inputs["past_key_values.0.key"] == (f32, ["batch_size", 2, "past_sequence_length", 32])
    assert len(inputs) == 3 + 2 * layers and len(outputs) == 1 + 2 * layers
    assert outputs["logits"][1][:2] == ["batch_size", "sequence_length"]
    assert outputs[f"present.{layers - 1}.value"] == (f32, ["batch_size", 2, "total_sequence_length", 32])


def test_onnxruntime_logits_match_torch(exported):
    run, out, done = exported
    assert max(done["max_abs_diff"].values()) < 1e-4
    # An independent check: a left-padded batch with an empty past, then two decode steps.
    model = AutoModelForCausalLM.from_pretrained(str(run / "final"), dtype=torch.float32).eval()
    tok = load_tokenizer(out)
    prompts = [tok("Ada has 3 cups and gets 4 more.").input_ids, tok("Hi").input_ids]
    decoder = OnnxDecoder(out)
    width = max(map(len, prompts))
    ids = np.array([[0] * (width - len(p)) + p for p in prompts], dtype=np.int64)
    mask = (np.arange(width)[None, :] >= (width - np.array([len(p) for p in prompts]))[:, None]).astype(np.int64)
    pos = np.clip(mask.cumsum(1) - 1, 0, None)
    logits, past = decoder.forward(ids, mask, pos, decoder.empty_past(2))
    seqs = [list(p) for p in prompts]
    for _ in range(2):
        nxt = logits[:, -1].argmax(-1)
        for s, t in zip(seqs, nxt):
            s.append(int(t))
        mask = np.concatenate([mask, np.ones((2, 1), np.int64)], 1)
        pos = pos[:, -1:] + 1
        logits, past = decoder.forward(nxt[:, None].astype(np.int64), mask, pos, past)
    with torch.no_grad():
        for b, s in enumerate(seqs):
            ref = model(input_ids=torch.tensor([s])).logits[0, -1].numpy()
            assert np.abs(logits[b, -1] - ref).max() < 1e-4
    assert past["past_key_values.0.key"].shape == (2, 2, width + 2, 32)


@pytest.mark.parametrize("dtype", ["fp16", "int8"])
def test_smaller_dtypes_keep_float32_inputs_and_outputs(trained_run, exported, tmp_path, dtype):
    run, fp32_dir, _ = exported
    out = tmp_path / dtype
    result = export(argparse.Namespace(run=str(run), out=str(out), dtype=dtype, template=None, max_new_tokens=None, no_verify=False))
    assert result["onnx_bytes"] < 0.6 * (fp32_dir / "onnx" / "model.onnx").stat().st_size
    assert max(result["max_abs_diff"].values()) < 0.5
    model = onnx.load(str(out / "onnx" / "model.onnx"))
    weight_types = {t.data_type for t in model.graph.initializer}
    assert (onnx.TensorProto.FLOAT16 if dtype == "fp16" else onnx.TensorProto.INT8) in weight_types
    assert {v.type.tensor_type.elem_type for v in model.graph.output} == {onnx.TensorProto.FLOAT}
    tok = load_tokenizer(out)
    (tokens,) = OnnxDecoder(out).greedy([tok("Ada has 3 cups").input_ids], 5, [tok.eos_token_id])
    assert len(tokens) <= 5


def test_large_weights_go_to_one_external_data_file(trained_run, tmp_path, monkeypatch):
    from aligner_trainer import export as export_module

    monkeypatch.setattr(export_module, "EXTERNAL_DATA_BYTES", 0)  # as if the model were > 1 GiB
    run, _ = trained_run
    out = tmp_path / "ext"
    result = export(argparse.Namespace(run=str(run), out=str(out), dtype="fp32", template=None, max_new_tokens=None, no_verify=False))
    assert sorted(p.name for p in (out / "onnx").iterdir()) == ["model.onnx", "model.onnx_data"]
    assert (out / "onnx" / "model.onnx").stat().st_size < 1_000_000 < (out / "onnx" / "model.onnx_data").stat().st_size
    assert max(result["max_abs_diff"].values()) < 1e-4  # onnxruntime found and used the data file
