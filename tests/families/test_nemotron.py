"""Nemotron (and Jais 2), role by role: LayerNorm1P computes with a gain of 1 + w, so IDInit's unit gain is w = 0
where the library writes w = 1 (a gain of 2); Jais 2's plain LayerNorms keep the library's gain 1; the ungated MLP."""

import pytest
import torch
from helpers import family, mlp_out_pattern, stacked_identity

import idinit_hf

D = 16


def build(model_type="nemotron", **config):
    config = family("nemotron").example_config(model_type, vocab_size=256, **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def norms(model):
    return [m for m in model.modules() if type(m).__name__.endswith(("LayerNorm", "LayerNorm1P"))]


@pytest.mark.parametrize("model_type, init_method, weight", [
    ("nemotron", "idinit", 0.0),  # gain 1 + 0
    ("nemotron", "default", 1.0),  # the library: gain 1 + 1
    ("jais2", "idinit", 1.0),  # plain LayerNorm: gain 1
])
def test_every_norm_has_the_gain_the_convention_asks_for(model_type, init_method, weight):
    model = build(model_type, init_method=init_method)
    found = norms(model)
    assert len(found) == 2 * model.config.num_hidden_layers + 1  # input, post-attention, final
    for norm in found:
        assert torch.equal(norm.weight.detach(), torch.full((D,), weight)) and not torch.any(norm.bias)


def test_the_ungated_mlp_and_verify():
    model = build(init_method="idinit")
    mlp = model.model.layers[0].mlp
    assert torch.equal(mlp.up_proj.weight.detach().round(decimals=3), stacked_identity(4 * D, D))
    assert torch.equal(mlp.down_proj.weight.detach(), mlp_out_pattern(D, 4 * D))
    report = idinit_hf.verify(model)
    assert report.ok and len(report.by_role(idinit_hf.Role.NORM_1P)) == 2 * (2 * 2 + 1)  # weight and bias of each
