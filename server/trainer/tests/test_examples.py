import pytest
import synthetic

from aligner_trainer.data import Row
from aligner_trainer.examples import IGNORE, Collator, build_stream, encode, encode_row
from aligner_trainer.templates import build_prompt
from aligner_trainer.tokenizer import train_bpe


@pytest.fixture(scope="module")
def rows():
    return [Row(**r) for r in synthetic.rows(50)]


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def tok(request, rows):
    return train_bpe((build_prompt(r.question, r.answer) + r.correction for r in rows), 400, request.param)


def test_tokenizer_round_trips_any_text(tok):
    text = "Grüße, 世界! 🙂 tabs\tand\nnewlines"
    assert tok.decode(tok(text, add_special_tokens=False).input_ids) == text


@pytest.mark.parametrize("model_type,adds_bos", [("llama", True), ("gemma", True), ("qwen2", False)])
def test_bos_is_added_like_the_model_family_does(rows, model_type, adds_bos):
    tok = train_bpe((r.question for r in rows), 300, model_type)
    assert [tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id] == [0, 1, 2, 3]
    assert (tok("x").input_ids[0] == tok.bos_token_id) == adds_bos


@pytest.mark.parametrize("model_type", ["llama", "gemma", "qwen2"])
def test_autotokenizer_reads_the_saved_tokenizer_unchanged(rows, tmp_path, model_type):
    # transformers 5 rebuilds some families' pipelines on load (Qwen2's), so a from-scratch
    # tokenizer must already be in that family's form to survive AutoTokenizer.
    from transformers import AutoTokenizer

    from aligner_trainer.presets import make_config

    tok = train_bpe((build_prompt(r.question, r.answer) + r.correction for r in rows), 400, model_type)
    tok.save_pretrained(str(tmp_path))
    make_config("tiny", model_type, len(tok), 1, 2, 0).save_pretrained(str(tmp_path))
    text = build_prompt("Eve has 2 pens?\r\n  Ok", "It's 9 pens, obviously.") + " Ünïcödé 123"
    assert AutoTokenizer.from_pretrained(str(tmp_path))(text).input_ids == tok(text).input_ids


def test_loss_covers_the_correction_and_eos_only(tok):
    prompt = build_prompt("How many?", "Three.")
    ex = encode(tok, prompt, "Four.", 512)
    prompt_len = len(tok(prompt).input_ids)
    target = tok("Four.", add_special_tokens=False).input_ids + [tok.eos_token_id]
    assert ex.input_ids == tok(prompt).input_ids + target
    assert ex.labels == [IGNORE] * prompt_len + target


def test_truncation_keeps_the_start_and_drops_rows_without_target(tok):
    prompt = build_prompt("How many?", "Three.")
    prompt_len = len(tok(prompt).input_ids)
    ex = encode(tok, prompt, "Four apples in total.", prompt_len + 2)
    assert len(ex.input_ids) == prompt_len + 2 and ex.labels[-2:] != [IGNORE, IGNORE]
    assert encode(tok, prompt, "Four.", prompt_len) is None


def test_identity_warmup_comes_first(tok, rows):
    stream = build_stream(tok, rows, template="correction", max_length=512, warmup_fraction=0.2, epochs=2, global_batch=4, seed=1)
    assert stream.warmup_examples == 10
    identity = {tuple(encode_row(tok, r, "correction", 512, identity=True).input_ids) for r in rows}
    qac = {tuple(encode_row(tok, r, "correction", 512).input_ids) for r in rows}
    assert all(tuple(e.input_ids) in identity for e in stream.examples[:10])
    assert all(tuple(e.input_ids) in qac for e in stream.examples[10:])
    assert len(stream.examples) == 10 + 2 * 50 and stream.steps == 28
    again = build_stream(tok, rows, template="correction", max_length=512, warmup_fraction=0.2, epochs=2, global_batch=4, seed=1)
    assert [e.input_ids for e in again.examples] == [e.input_ids for e in stream.examples]  # resumable order


def test_max_steps_sizes_the_stream(tok, rows):
    stream = build_stream(
        tok, rows, template="correction", max_length=512, warmup_fraction=0.0, epochs=1, global_batch=8, seed=1, max_steps=20
    )
    assert stream.steps == 20 and len(stream.examples) == 160 and stream.warmup_examples == 0


def test_collator_pads_right_and_masks(tok, rows):
    a, b = encode_row(tok, rows[0], "correction", 512), encode_row(tok, rows[1], "correction", 512)
    batch = Collator(tok.pad_token_id)([a, b])
    width = batch["input_ids"].shape[1]
    assert width % 8 == 0 and width >= max(len(a.input_ids), len(b.input_ids))
    assert batch["attention_mask"][0].sum() == len(a.input_ids)
    assert batch["labels"][0, len(a.input_ids) :].eq(IGNORE).all()
    assert batch["input_ids"][0, len(a.input_ids) :].eq(tok.pad_token_id).all()
