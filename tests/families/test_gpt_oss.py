"""The GPT-OSS family, role by role: experts stored transposed (``E x d x 2I``, ``x @ W``) with gate and up
interleaved, their biases, the router's bias, the attention biases and sinks."""

from __future__ import annotations

import pytest
import torch

import idinit_hf
from idinit_hf.families.gpt_oss import GPT_OSS
from idinit_hf.init import idi_pattern, idiz_pattern

EPS = 1e-6
D, WIDE, E = 16, 40, 4
SHIFTS = [0, 4, 8, 12]


def build(**options):
    torch.manual_seed(0)
    return idinit_hf.AutoModelForCausalLM.from_config(
        GPT_OSS.example_config(vocab_size=256, init_method="idinit", **options))


def test_experts_stored_transposed_with_interleaved_gate_and_up():
    """Stored ``gate_up[e]`` is d x 2I: its even columns (the gate) and odd ones (up) are each the transpose of
    expert e's shifted IDIτ; ``down[e]`` (I x d) the transpose of its shifted IDIZε; every bias 0."""
    experts = build().model.layers[0].mlp.experts
    gate_up, down = experts.gate_up_proj.detach(), experts.down_proj.detach()
    assert gate_up.shape == (E, D, 2 * WIDE) and down.shape == (E, WIDE, D)
    for e, shift in enumerate(SHIFTS):
        want = idi_pattern(WIDE, D).roll(shift, dims=1).t()
        assert torch.equal(gate_up[e][:, 0::2].round(decimals=3), want)
        assert torch.equal(gate_up[e][:, 1::2].round(decimals=3), want)
        assert torch.equal(down[e], idiz_pattern(D, WIDE, EPS).roll(shift, dims=0).t())
    assert not experts.gate_up_proj_bias.detach().any() and not experts.down_proj_bias.detach().any()


@pytest.mark.parametrize("router", ["default", "zero", "idi"])
def test_router_weight_and_bias_follow_the_router_option(router):
    model = build(idinit_router=router)
    weight, bias = (p.detach() for p in (model.model.layers[0].mlp.router.weight, model.model.layers[0].mlp.router.bias))
    if router == "default":
        assert 0.01 < float(weight.std()) < 0.03 and bias.any()  # the library draws the bias too
    else:
        assert torch.equal(weight, torch.zeros(E, D) if router == "zero" else torch.eye(E, D))
        assert not bias.any()
    assert idinit_hf.verify(model).ok


def test_attention_biases_are_zero_and_sinks_keep_the_library_init():
    attn = build().model.layers[1].self_attn
    assert all(not getattr(attn, n).bias.detach().any() for n in ("q_proj", "k_proj", "v_proj", "o_proj"))
    assert 0.005 < float(attn.sinks.detach().std()) < 0.05
