"""The VaultGemma layout (Gemma's pre-norm decoder, norms named as in Gemma 2, no norm after a branch): IDIZε on the
branches' last linear layers as in the Llama layout, Gemma's norms at the library's w = 0, and every model type of
the installed transformers with exactly this layout is covered."""

from __future__ import annotations

import pytest
import torch
from helpers import family, inputs
from layouts import branches_end_in, types_whose_layers_hold

import idinit_hf
from idinit_hf.families import VAULTGEMMA

EPS = 1e-6
D, HIDDEN = 16, 40


def build(**options):
    config = VAULTGEMMA.example_config(vocab_size=256, init_method="idinit", **options)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def test_branch_outputs_are_idiz_and_norms_keep_the_library_default():
    model = build()
    for layer in model.model.layers:
        assert torch.equal(layer.self_attn.o_proj.weight.detach(), EPS * (torch.eye(D) - torch.eye(D).roll(1, 1)))
        want = torch.zeros(D, HIDDEN)
        want[:, :D], want[:, D : 2 * D] = EPS * torch.eye(D), -EPS * torch.eye(D)
        assert torch.equal(layer.mlp.down_proj.weight.detach(), want)
        for norm in (layer.input_layernorm, layer.pre_feedforward_layernorm):
            assert torch.equal(norm.weight.detach(), torch.zeros(D))  # (1 + w): a gain of 1


def test_the_post_norm_options_change_nothing_here():
    assert torch.equal(build(idinit_normed_out="default").model.layers[0].self_attn.o_proj.weight,
                       build().model.layers[0].self_attn.o_proj.weight)


def test_the_model_type_is_exact_and_an_identity_at_init():
    model = build()
    report = idinit_hf.verify(model)
    written = [layer for layer in report.layers if layer.rule not in (idinit_hf.Rule.DEFAULT, idinit_hf.Rule.TIED)]
    assert len(written) >= 7 * model.config.num_hidden_layers and report.ok, str(report)
    every_weight = {name for name, _ in model.model.layers.named_parameters()}
    assert every_weight <= {layer.name.removeprefix("model.layers.") for layer in report.layers}
    identity = idinit_hf.identity_report(model, inputs("vaultgemma"))
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


LAYER = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
         "mlp.up_proj", "mlp.down_proj", "input_layernorm", "pre_feedforward_layernorm"}
OUTSIDE = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}


@pytest.mark.slow
def test_every_vaultgemma_layout_model_type_is_covered():
    found = {t for t in types_whose_layers_hold(LAYER, set(), OUTSIDE)
             if branches_end_in(t, "self_attn.o_proj", "mlp.down_proj")}
    assert found == set(VAULTGEMMA.model_types), found


def test_the_family_is_registered():
    assert family("vaultgemma") is VAULTGEMMA
