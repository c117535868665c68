"""Cohere, role by role: attention and a gated MLP in parallel from one LayerNorm (the gate follows idinit_gate),
optional per-head q/k norms at the library's 1."""

import pytest
import torch
from helpers import family, inputs, stacked_identity

import idinit_hf

D, HIDDEN = 16, 40


def build(model_type="cohere", **config):
    config = family("cohere").example_config(model_type, vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("gate", ["idi", "default"])
def test_the_gate_follows_the_gate_option(gate):
    mlp = build(idinit_gate=gate).model.layers[0].mlp
    up, gate_weight = mlp.up_proj.weight.detach(), mlp.gate_proj.weight.detach()
    assert torch.equal(up.round(decimals=3), stacked_identity(HIDDEN, D))
    if gate == "idi":
        assert torch.equal(gate_weight.round(decimals=3), up.round(decimals=3))
    else:
        assert 0.01 < float(gate_weight.std()) < 0.03


def test_qk_norms_keep_the_library_default_and_the_block_is_an_identity():
    model = build(use_qk_norm=True)
    attention = model.model.layers[0].self_attn
    assert torch.equal(attention.q_norm.weight.detach(), torch.ones_like(attention.q_norm.weight))
    assert idinit_hf.verify(model).ok
    assert idinit_hf.identity_report(model, inputs("cohere")).max_identity_error() <= 1e-4
