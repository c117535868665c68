"""The Gemma 4 unified text decoder (the Gemma 2 sandwich layout with plain ``w`` RMSNorm gains): the post-branch
norms hold ``w = ε`` where Gemma 2's hold ``ε − 1``, the optional layouts (keys as values, layers that reuse another
layer's keys and values) keep every block exact and an identity, and the model type is found by its layout."""

from __future__ import annotations

import pytest
import torch
from helpers import family, inputs
from layouts import gain_offset, sandwich_types

import idinit_hf
from idinit_hf.families import GEMMA4_UNIFIED

EPS = 1e-6
D = 16
ALTERNATING = ["sliding_attention", "full_attention"] * 2


def build(**config):
    return idinit_hf.AutoModelForCausalLM.from_config(
        GEMMA4_UNIFIED.example_config(vocab_size=256, init_method="idinit", **config))


def test_post_branch_norms_hold_epsilon_and_the_others_one():
    model = build()
    for layer in model.model.layers:
        for name in ("post_attention_layernorm", "post_feedforward_layernorm"):
            assert torch.equal(getattr(layer, name).weight.detach(), torch.full((D,), EPS)), name
        for name in ("input_layernorm", "pre_feedforward_layernorm"):
            assert torch.equal(getattr(layer, name).weight.detach(), torch.ones(D)), name


@pytest.mark.parametrize("config", [{}, dict(attention_k_eq_v=True),
                                    dict(num_hidden_layers=4, layer_types=ALTERNATING, num_kv_shared_layers=2)],
                         ids=["plain", "k_eq_v", "kv_shared"])
def test_every_layout_option_is_exact_and_an_identity_at_init(config):
    model = build(**config)
    report = idinit_hf.verify(model)
    assert report.ok, str(report)
    every_weight = {name for name, _ in model.model.layers.named_parameters()}
    assert every_weight <= {layer.name.removeprefix("model.layers.") for layer in report.layers}
    identity = idinit_hf.identity_report(model, inputs("gemma4_unified"))
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


@pytest.mark.slow
def test_every_sandwich_layout_model_type_with_plain_gains_is_covered():
    found = {t for t in sandwich_types() if gain_offset(t) == 0.0}
    assert found == set(GEMMA4_UNIFIED.model_types), found


def test_the_family_is_registered():
    assert family("gemma4_unified") is GEMMA4_UNIFIED
