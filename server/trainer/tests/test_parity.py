"""Greedy generation through the exported ONNX model equals transformers' generate(do_sample=False),
token for token: in onnxruntime (Python) always, and in the TypeScript engine once it is built."""

import argparse
import json
import shutil
import subprocess

import pytest
import synthetic
import torch
from conftest import REPO

from aligner_trainer.data import Row
from aligner_trainer.export import export
from aligner_trainer.onnx_generate import OnnxDecoder
from aligner_trainer.presets import build_model, make_config
from aligner_trainer.templates import build_prompt
from aligner_trainer.tokenizer import train_bpe

NEW_TOKENS = 24
CLI = REPO / "dist" / "server" / "cli" / "main.js"
CASES = [
    ("Eve has 2 pens and gets 5 more. How many pens does Eve have?", "Eve has 9 pens, obviously."),
    ("Why is the sky blue?", "Only a fool would ask."),
]


@pytest.fixture(scope="module", params=["llama", "gemma", "qwen2"])
def model_dir(request, tmp_path_factory):
    model_type = request.param
    rows = [Row(**r) for r in synthetic.rows(120)]
    tok = train_bpe((build_prompt(r.question, r.answer) + r.correction for r in rows), 600, model_type)
    config = make_config("tiny", model_type, len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    config.initializer_range = 0.2  # peaked logits: no near-ties for float rounding to flip
    torch.manual_seed(0)
    model = build_model(config).eval()
    src = tmp_path_factory.mktemp(f"src-{model_type}")
    model.save_pretrained(str(src))
    tok.save_pretrained(str(src))
    out = tmp_path_factory.mktemp("onnx") / model_type
    result = export(argparse.Namespace(run=str(src), out=str(out), dtype="fp32", template=None, max_new_tokens=None, no_verify=False))
    assert max(result["max_abs_diff"].values()) < 1e-4
    assert (out / "tokenizer.json").read_bytes() == (src / "tokenizer.json").read_bytes()
    return model_type, model, tok, out


def hf_greedy(model, tok, prompt_ids):
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([prompt_ids]),
            attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=NEW_TOKENS,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )[0, len(prompt_ids) :].tolist()
    return out[:-1] if out and out[-1] == tok.eos_token_id else out


def test_onnxruntime_greedy_equals_transformers_generate(model_dir):
    model_type, model, tok, out = model_dir
    prompts = [tok(build_prompt(q, a)).input_ids for q, a in CASES]
    expected = [hf_greedy(model, tok, p) for p in prompts]
    assert all(expected)
    decoder = OnnxDecoder(out)
    for p, e in zip(prompts, expected):
        assert decoder.greedy([p], NEW_TOKENS, [tok.eos_token_id], tok.pad_token_id) == [e], model_type
    # both prompts in one left-padded batch
    assert decoder.greedy(prompts, NEW_TOKENS, [tok.eos_token_id], tok.pad_token_id) == expected, model_type


def test_typescript_engine_greedy_equals_transformers_generate(model_dir):
    model_type, model, tok, out = model_dir
    if not CLI.exists():
        pytest.skip(f"{CLI.relative_to(REPO)} does not exist yet (npm run build)")
    node = shutil.which("node")
    assert node, "node is not on PATH"
    for question, answer in CASES:
        expected = hf_greedy(model, tok, tok(build_prompt(question, answer)).input_ids)
        proc = subprocess.run(
            [node, str(REPO / "bin" / "aligner.js"), "correct", "--model", str(out), "--question", question, "--answer", answer,
             "--json", "--max-new-tokens", str(NEW_TOKENS), "--temperature", "0"],
            capture_output=True, text=True, timeout=120, cwd=REPO,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["tokenIds"] == expected, model_type
        text = tok.decode(expected, skip_special_tokens=True)
        if "\ufffd" not in text:  # a random model's bytes need not be valid UTF-8; the engine holds those back
            assert result["text"] == text
