import pytest
import torch

from aligner_trainer.copy_circuit import build_copy_model, wire_copy_circuit
from aligner_trainer.presets import build_model, make_config


def copy_model(preset: str = "small", vocab: int = 2000, match_tokens: int = 1):
    torch.manual_seed(0)
    config = make_config(preset, "llama", vocab, 1, 2, 0)
    return build_copy_model(config, seed=0, match_tokens=match_tokens).eval()


def copy_accuracy(model, vocab: int, prefix: int, span: int, seed: int = 1, alphabet: int = 0) -> float:
    """Teacher-forced accuracy of predicting the second copy of a random token sequence (drawn from the
    first `alphabet` ids after the special ones when given, so that tokens repeat within the span)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randint(3, vocab, (4, prefix), generator=g)  # unrelated text before the span
    seq = torch.randint(3, 3 + alphabet if alphabet else vocab, (4, span), generator=g)
    ids = torch.cat([noise, seq, seq], dim=1)
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    start = prefix + span  # position of the second copy's first token
    pred = logits[:, start : start + span - 1].argmax(-1)  # predicts tokens start + 1 ..
    return (pred == ids[:, start + 1 : start + span]).float().mean().item()


def test_the_initial_model_copies_a_span_seen_earlier():
    model = copy_model()
    assert copy_accuracy(model, 2000, prefix=100, span=200) > 0.9
    # the circuit matches tokens regardless of distance: a span 700 tokens back is found as well
    # (lower: among 1,000 random tokens of 2,000 some repeat, and a one-token match is then ambiguous)
    assert copy_accuracy(model, 2000, prefix=300, span=350) > 0.8


def test_a_two_token_match_copies_where_the_current_token_repeats():
    # 200 tokens from 30 ids: each id recurs ~7 times with different successors, so one token does not say
    # where to continue; the last two mostly do (900 pairs)
    one, two = copy_model(match_tokens=1), copy_model(match_tokens=2)
    assert copy_accuracy(one, 2000, prefix=50, span=200, alphabet=30) < 0.4
    assert copy_accuracy(two, 2000, prefix=50, span=200, alphabet=30) > 0.8
    # and it still copies spans of distinct tokens
    assert copy_accuracy(two, 2000, prefix=100, span=200) > 0.9


def test_a_two_token_match_needs_two_key_value_heads():
    config = make_config("small", "llama", 2000, 1, 2, 0)
    config.num_key_value_heads = 1
    with pytest.raises(ValueError, match="key/value heads"):
        build_copy_model(config, seed=0, match_tokens=2)


def test_a_fresh_model_without_the_circuit_does_not_copy():
    torch.manual_seed(0)
    model = build_model(make_config("small", "llama", 2000, 1, 2, 0)).eval()
    assert copy_accuracy(model, 2000, prefix=100, span=200) < 0.05


def test_the_circuit_needs_a_llama_with_room_in_its_hidden_size():
    config = make_config("tiny", "qwen2", 300, 1, 2, 0)
    with pytest.raises(ValueError, match="Llama"):
        wire_copy_circuit(build_model(config), seed=0)
