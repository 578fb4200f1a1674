import pytest
import torch

from aligner_trainer.examples import IGNORE
from aligner_trainer.hf_trainer import add_labelled_loss
from aligner_trainer.presets import build_model, make_config


@pytest.mark.parametrize("model_type", ["llama", "gemma", "qwen2"])
def test_labelled_positions_loss_equals_the_full_logits_loss(model_type):
    torch.manual_seed(0)
    model = build_model(make_config("tiny", model_type, 300, 1, 2, 0))
    ids = torch.randint(4, 300, (3, 20))
    mask = torch.ones_like(ids)
    mask[2, 15:] = 0
    labels = ids.clone()
    labels[:, :12] = IGNORE  # the prompt
    labels[2, 15:] = IGNORE  # padding
    reference = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    n = int((labels[:, 1:] != IGNORE).sum())
    reference_sum = model(input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=torch.tensor(2 * n)).loss
    add_labelled_loss(model)
    assert type(model).__name__ == {"llama": "LlamaForCausalLM", "gemma": "GemmaForCausalLM", "qwen2": "Qwen2ForCausalLM"}[model_type]
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert torch.allclose(loss, reference, atol=1e-5)
    loss_sum = model(input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=torch.tensor(2 * n)).loss
    assert torch.allclose(loss_sum, reference_sum, atol=1e-5) and torch.allclose(loss_sum, reference / 2, atol=1e-5)
    loss.backward()
    assert model.model.embed_tokens.weight.grad is not None
    assert model(input_ids=ids).logits.shape == (3, 20, 300)  # without labels: the model's own forward
