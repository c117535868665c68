"""The Qwen2-MoE family, role by role: the shared expert (a gated MLP, or the library's under
``idinit_shared_experts="default"``), its sigmoid gate under ``idinit_router``, Qwen2's attention biases."""

from __future__ import annotations

import pytest
import torch

import idinit_hf
from idinit_hf.families.qwen2_moe import QWEN2_MOE
from idinit_hf.init import idi_pattern, idiz_pattern
from idinit_hf.testing import inputs

EPS = 1e-6
D, SHARED = 16, 40


def build(**options):
    torch.manual_seed(0)
    return idinit_hf.AutoModelForCausalLM.from_config(
        QWEN2_MOE.example_config(vocab_size=256, init_method="idinit", **options))


def test_the_shared_expert_is_a_gated_mlp_under_idinit():
    shared = build().model.layers[0].mlp.shared_expert
    for name in ("gate_proj", "up_proj"):
        assert torch.equal(getattr(shared, name).weight.detach().round(decimals=3), idi_pattern(SHARED, D))
    assert torch.equal(shared.down_proj.weight.detach(), idiz_pattern(D, SHARED, EPS))


def test_a_library_shared_expert_is_random_and_the_block_no_identity():
    model = build(idinit_shared_experts="default")
    shared = model.model.layers[0].mlp.shared_expert
    assert all(0.01 < float(getattr(shared, n).weight.detach().std()) < 0.03 for n in ("gate_proj", "down_proj"))
    assert idinit_hf.verify(model).ok
    assert idinit_hf.identity_report(model, inputs("qwen2_moe")).max_identity_error() > 1e-3


@pytest.mark.parametrize("router, want", [("zero", torch.zeros(1, D)), ("idi", torch.eye(1, D))])
def test_the_shared_experts_gate_is_a_router(router, want):
    """zero: σ(0) = ½ for every token; IDIτ: σ(m_0)."""
    model = build(idinit_router=router)
    assert torch.equal(model.model.layers[0].mlp.shared_expert_gate.weight.detach(), want)
    assert torch.equal(model.model.layers[0].mlp.gate.weight.detach(), want.new_zeros(4, D) if router == "zero"
                       else torch.eye(4, D))


def test_attention_biases_are_zero():
    attn = build().model.layers[0].self_attn
    assert all(not getattr(attn, n).bias.detach().any() for n in ("q_proj", "k_proj", "v_proj"))
