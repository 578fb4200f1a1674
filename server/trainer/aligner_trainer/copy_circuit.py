"""Copy-circuit initialization for models trained from scratch.

An Aligner must first of all be able to copy: most of a good correction is the answer it corrects. A
small model trained from scratch on a CPU does not learn to copy in the time it has (induction heads
form only after far more tokens than a CPU run sees), so it writes generic text instead. This module
wires the two-head "induction" circuit by hand before training starts, and training refines it:

- Residual layout: dimension 0 holds a constant, dimensions [1, 1 + D) are a free "previous token"
  subspace, the rest holds the token embeddings. Every other residual branch (o_proj, down_proj)
  starts at zero, as in zero-initialised residual blocks, so at step 0 the circuit is the whole model.
- Layer 0, head 0 ("previous-token head"): query and key read only the constant dimension, so the
  score depends on the relative position alone; with the key's high-frequency rotary pairs turned by
  one step, every position attends to the one before it and writes that token's embedding,
  projected to D dimensions, into the previous-token subspace.
- Layer 1, head 0 ("induction head"): the query is the current token's projection, the key is the
  previous-token subspace, on the low-frequency rotary pairs only (which barely turn over the
  context, so matching does not depend on distance): it attends to the positions that followed an
  earlier occurrence of the current token and writes their token back into the embedding subspace,
  where the tied output layer reads it as "predict this token".
- With match_tokens=2, a second pair of heads matches the last two tokens: layer 0, head 1 writes the
  token two back into its own subspace, and layer 1's first query head on key/value head 1 scores a
  position by (current token . token before it) + (previous token . token two before it). A one-token
  match cannot tell which occurrence of a common token to continue from (58% of the tokens of real
  answers, MODEL_CARD.md); the two heads vote, and the two-token head decides those.

Needs a Llama model with tied embeddings, hidden > 2 x head_dim + 1, and a rotary base high enough that
the upper half of the pairs turns little over the context (COPY_ROPE_THETA).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

COPY_ROPE_THETA = 1e6  # as Qwen2 / Llama 3 use: the upper half of the pairs turns < 1 rad over 1k tokens
PREV_TOKEN_PAIRS = 12  # high-frequency rotary pairs that locate the previous position
PREV_TOKEN_SCALE = 20.0  # sharpness of the previous-token head (attention on position - 1 is ~1.0)
MATCH_SCALE = 30.0  # sharpness of the induction head's token match
COPY_SCALE = 10.0  # weight of the copied token in the residual, against the current token's own
# Weight of the earlier-token half of the two-token match: the residual holds the previous token at a
# larger norm than the current one, so at equal weight a match of the earlier token alone outscored
# the true match (teacher-forced copy of real answers: 0.76 at 1.0, 0.83 at 0.3, 0.84 at 0.2).
EARLIER_TOKEN_WEIGHT = 0.2


def rope_theta_of(config) -> float:
    params = getattr(config, "rope_parameters", None) or {}
    return float(params.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


def build_copy_model(config: "PretrainedConfig", seed: int, match_tokens: int = 1) -> "PreTrainedModel":
    """A fresh model from `config` with the rotary base the circuit needs and the circuit wired in."""
    from .presets import build_model

    config.rope_parameters = {"rope_type": "default", "rope_theta": COPY_ROPE_THETA}
    model = build_model(config)
    wire_copy_circuit(model, seed, match_tokens)
    return model


def wire_copy_circuit(model: "PreTrainedModel", seed: int, match_tokens: int = 1) -> None:
    import torch

    cfg = model.config
    if cfg.model_type != "llama" or not cfg.tie_word_embeddings:
        raise ValueError("--copy-init needs a Llama model with tied embeddings")
    H, D, V = cfg.hidden_size, cfg.head_dim, cfg.vocab_size
    if match_tokens not in (1, 2):
        raise ValueError(f"--copy-init matches 1 or 2 tokens, not {match_tokens}")
    group = cfg.num_attention_heads // cfg.num_key_value_heads  # query heads per key/value head
    n_sub = match_tokens  # previous-token subspaces: the token 1 (and 2) back
    if cfg.num_hidden_layers < 2 or H <= (n_sub + 1) * D + 1 or D % 4:
        raise ValueError(
            f"--copy-init needs >= 2 layers and hidden > {n_sub + 1} x head_dim + 1 (hidden {H}, head_dim {D})"
        )
    if match_tokens == 2 and (cfg.num_key_value_heads < 2 or group < 2):
        raise ValueError("--copy-init 2 needs >= 2 key/value heads and >= 2 query heads per key/value head")
    theta = rope_theta_of(cfg)
    prev0, prev2_0, content0 = 1, 1 + D, 1 + n_sub * D
    n_content = H - content0
    g = torch.Generator().manual_seed(seed)
    inv_freq = [theta ** (-2 * j / D) for j in range(D // 2)]
    with torch.no_grad():
        emb = torch.randn(V, n_content, generator=g)
        table = torch.zeros(V, H)
        # Adam moves every weight by about lr per step whatever its size, so weights of ~0.05 (a unit
        # vector's entries over ~300 dimensions) lose their structure within tens of steps at lr 1e-3.
        # The residual stream is scaled up so that embeddings and the circuit's value weights are ~1 per
        # entry, and the final norm scales the logits back down (the function at step 0 is the same).
        scale = math.sqrt(n_content)
        table[:, 0] = scale
        table[:, content0:] = emb / emb.norm(dim=1, keepdim=True) * scale
        model.get_input_embeddings().weight.copy_(table)
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        # D orthonormal directions of the embedding subspace: what the circuit reads and writes
        proj = torch.linalg.qr(torch.randn(n_content, D, generator=g))[0].T  # [D, n_content]

        a0 = model.model.layers[0].self_attn
        for w in (a0.q_proj.weight[0 : n_sub * D], a0.k_proj.weight[0:D], a0.v_proj.weight[0:D]):
            w.zero_()
        half = D // 2
        for j in range(min(PREV_TOKEN_PAIRS, half)):
            # rotary turns a pair by position x frequency; q . k peaks where (m - n) x freq = freq
            f = inv_freq[j]
            a0.q_proj.weight[j, 0] = PREV_TOKEN_SCALE
            a0.k_proj.weight[j, 0] = PREV_TOKEN_SCALE * math.cos(f)
            a0.k_proj.weight[j + half, 0] = PREV_TOKEN_SCALE * math.sin(f)
            if match_tokens == 2:  # head 1's query turned back one more step: it peaks at m - n = 2
                a0.q_proj.weight[D + j, 0] = PREV_TOKEN_SCALE * math.cos(f)
                a0.q_proj.weight[D + j + half, 0] = -PREV_TOKEN_SCALE * math.sin(f)
        a0.v_proj.weight[0:D, content0:] = proj * scale
        a0.o_proj.weight[prev0 : prev0 + D, 0:D] = torch.eye(D)
        if match_tokens == 2:
            a0.o_proj.weight[prev2_0 : prev2_0 + D, D : 2 * D] = torch.eye(D)

        a1 = model.model.layers[1].self_attn
        for w in (a1.q_proj.weight, a1.k_proj.weight, a1.v_proj.weight):
            w[0:D].zero_()
        low = [d for j in range(D // 4, half) for d in (j, j + half)]  # low-frequency pairs: distance-free
        for row, d in enumerate(low):
            a1.q_proj.weight[d, content0:] = MATCH_SCALE * proj[row]
            a1.k_proj.weight[d, prev0 + row] = 1.0
        row = len(low)
        a1.v_proj.weight[0:D, content0:] = proj * scale
        a1.o_proj.weight[content0:, 0:D] = COPY_SCALE * proj.T
        if match_tokens == 2:
            # The first query head of key/value head 1, on the other 32 projection directions: half its
            # low-frequency dimensions match the current token against the token before a position,
            # half the previous token against the token two before it.
            q0, kv0 = group * D, D
            for w in (a1.q_proj.weight[q0 : q0 + D], a1.k_proj.weight[kv0 : kv0 + D], a1.v_proj.weight[kv0 : kv0 + D]):
                w.zero_()
            n = row // 2
            for i, d in enumerate(low):
                r = row + i  # projection directions row .. D - 1, unused by the one-token head
                if i < n:
                    a1.q_proj.weight[q0 + d, content0:] = MATCH_SCALE * proj[r]
                    a1.k_proj.weight[kv0 + d, prev0 + r] = 1.0
                else:
                    a1.q_proj.weight[q0 + d, prev0 + r] = MATCH_SCALE * EARLIER_TOKEN_WEIGHT
                    a1.k_proj.weight[kv0 + d, prev2_0 + r] = 1.0
            a1.v_proj.weight[kv0 : kv0 + D, content0:] = proj * scale
            a1.o_proj.weight[content0:, q0 : q0 + D] = COPY_SCALE * proj.T
        model.model.norm.weight.fill_(1.0 / scale)  # tied output layer: logits as at scale 1
