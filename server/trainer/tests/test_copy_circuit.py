import pytest
import torch

from aligner_trainer.copy_circuit import build_copy_model, wire_copy_circuit
from aligner_trainer.presets import build_model, make_config


def copy_model(preset: str = "small", vocab: int = 2000):
    torch.manual_seed(0)
    return build_copy_model(make_config(preset, "llama", vocab, 1, 2, 0), seed=0).eval()


def copy_accuracy(model, vocab: int, prefix: int, span: int, seed: int = 1) -> float:
    """Teacher-forced accuracy of predicting the second copy of a random token sequence."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randint(3, vocab, (4, prefix), generator=g)  # unrelated text before the span
    seq = torch.randint(3, vocab, (4, span), generator=g)
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


def test_a_fresh_model_without_the_circuit_does_not_copy():
    torch.manual_seed(0)
    model = build_model(make_config("small", "llama", 2000, 1, 2, 0)).eval()
    assert copy_accuracy(model, 2000, prefix=100, span=200) < 0.05


def test_the_circuit_needs_a_llama_with_room_in_its_hidden_size():
    config = make_config("tiny", "qwen2", 300, 1, 2, 0)
    with pytest.raises(ValueError, match="Llama"):
        wire_copy_circuit(build_model(config), seed=0)
