"""Greedy generation equals transformers' generate(do_sample=False), token for token, for tiny llama,
gemma and qwen2 models with peaked logits: through the torch reference export (Optimum layout,
torch_export.py) in onnxruntime (Python) always and in the TypeScript engine, and through `aligner
export` (the converter's fast layout, fp32) in the engine, once the CLI is built. test_export.py does
the same for a run the trainer wrote."""

import json
import subprocess

import pytest
import synthetic
import torch
from parity import ALIGNER, CASES, CLI, NEW_TOKENS, NO_CLI, engine_correct, hf_greedy, node

from aligner_trainer.data import Row
from aligner_trainer.onnx_generate import OnnxDecoder
from aligner_trainer.presets import build_model, make_config
from aligner_trainer.templates import build_prompt
from aligner_trainer.tokenizer import train_bpe
from aligner_trainer.torch_export import export_reference


@pytest.fixture(scope="module", params=["llama", "gemma", "qwen2"])
def model_dir(request, tmp_path_factory):
    model_type = request.param
    rows = [Row(**r) for r in synthetic.rows(120)]
    tok = train_bpe((build_prompt(r.question, r.answer) + r.correction for r in rows), 600, model_type)
    config = make_config("tiny", model_type, len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    config.initializer_range = 0.2  # peaked logits: no near-ties for float rounding to flip
    torch.manual_seed(0)
    model = build_model(config).eval()
    run = tmp_path_factory.mktemp(f"run-{model_type}")  # laid out as the trainer leaves a run: RUN/final
    src = run / "final"
    model.save_pretrained(str(src))
    tok.save_pretrained(str(src))
    (src / "aligner.json").write_text(json.dumps({"template": "correction"}))
    out = tmp_path_factory.mktemp("onnx") / model_type
    diffs = export_reference(src, out)
    assert max(diffs.values()) < 1e-4
    assert (out / "tokenizer.json").read_bytes() == (src / "tokenizer.json").read_bytes()
    return model_type, model, tok, out, run


def test_onnxruntime_greedy_equals_transformers_generate(model_dir):
    model_type, model, tok, out, _ = model_dir
    prompts = [tok(build_prompt(q, a)).input_ids for q, a in CASES]
    expected = [hf_greedy(model, tok, p) for p in prompts]
    assert all(expected)
    decoder = OnnxDecoder(out)
    for p, e in zip(prompts, expected):
        assert decoder.greedy([p], NEW_TOKENS, [tok.eos_token_id], tok.pad_token_id) == [e], model_type
    # both prompts in one left-padded batch
    assert decoder.greedy(prompts, NEW_TOKENS, [tok.eos_token_id], tok.pad_token_id) == expected, model_type


def test_typescript_engine_greedy_equals_transformers_generate(model_dir):
    model_type, model, tok, out, _ = model_dir
    if not CLI.exists():
        pytest.skip(NO_CLI)
    for question, answer in CASES:
        expected = hf_greedy(model, tok, tok(build_prompt(question, answer)).input_ids)
        result = engine_correct(out, question, answer)
        assert result["tokenIds"] == expected, model_type
        text = tok.decode(expected, skip_special_tokens=True)
        if "\ufffd" not in text:  # a random model's bytes need not be valid UTF-8; the engine holds those back
            assert result["text"] == text


def test_aligner_export_greedy_equals_transformers_generate(model_dir, tmp_path):
    """The converter's fast layout, as `aligner export` writes it from the run: the same tokens."""
    model_type, model, tok, _, run = model_dir
    if not CLI.exists():
        pytest.skip(NO_CLI)
    out = tmp_path / "model"
    proc = subprocess.run(
        [node(), str(ALIGNER), "export", "--run", str(run), "--out", str(out), "--dtype", "fp32"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "aligner.json").read_text())["layout"] == "fast"
    for question, answer in CASES:
        expected = hf_greedy(model, tok, tok(build_prompt(question, answer)).input_ids)
        assert engine_correct(out, question, answer)["tokenIds"] == expected, model_type
