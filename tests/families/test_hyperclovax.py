"""HyperCLOVA X (the sandwich layout under Llama's names, plain ``w`` gains): the norms that end the branches are
``post_norm1`` / ``post_norm2`` (``post_attention_layernorm`` is the MLP's input norm here), every block is exact and
an identity at init with and without those post norms (``use_post_norm``), and the model type is found by its layout."""

from __future__ import annotations

import pytest
import torch
from helpers import family, inputs
from layouts import QK_NORMS, branches_end_in, types_whose_layers_hold

import idinit_hf
from idinit_hf.families import HYPERCLOVAX

EPS = 1e-6
D = 16


def build(**config):
    return idinit_hf.AutoModelForCausalLM.from_config(
        HYPERCLOVAX.example_config(vocab_size=256, init_method="idinit", **config))


def test_the_post_norms_hold_epsilon_and_the_input_norms_one():
    layer = build().model.layers[0]
    for name in ("post_norm1", "post_norm2"):
        assert torch.equal(getattr(layer, name).weight.detach(), torch.full((D,), EPS)), name
    for name in ("input_layernorm", "post_attention_layernorm"):
        assert torch.equal(getattr(layer, name).weight.detach(), torch.ones(D)), name
    assert torch.equal(layer.self_attn.o_proj.weight.detach(), EPS * (torch.eye(D) - torch.eye(D).roll(1, 1)))


@pytest.mark.parametrize("use_post_norm", [True, False])
def test_every_block_is_exact_and_an_identity_at_init(use_post_norm):
    model = build(use_post_norm=use_post_norm, residual_multiplier=0.5)
    report = idinit_hf.verify(model)
    assert report.ok, str(report)
    every_weight = {name for name, _ in model.model.layers.named_parameters()}
    assert every_weight <= {layer.name.removeprefix("model.layers.") for layer in report.layers}
    identity = idinit_hf.identity_report(model, inputs("hyperclovax"))
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


LAYER = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
         "mlp.up_proj", "mlp.down_proj", "input_layernorm", "post_attention_layernorm", "post_norm1", "post_norm2"}


@pytest.mark.slow
def test_every_peri_ln_layout_model_type_is_covered():
    found = {t for t in types_whose_layers_hold(LAYER, QK_NORMS, {"model.embed_tokens.weight", "model.norm.weight",
                                                                   "lm_head.weight"})
             if branches_end_in(t, "post_norm1", "post_norm2")}
    assert found == set(HYPERCLOVAX.model_types), found


def test_the_family_is_registered():
    assert family("hyperclovax") is HYPERCLOVAX
