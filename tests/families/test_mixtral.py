"""The Mixtral family, role by role: the router under each ``idinit_router``, the stacked experts under each
``idinit_experts`` (shifted identities, copies, per-expert loosening, the library's), experts wider than the model
(replicated, loosened rows) and narrower (Qwen3-MoE's fine-grained experts: partial identities that tile the model
dimensions), the gate half under ``idinit_gate``, dense blocks, and GraniteMoeShared's shared MLP."""

from __future__ import annotations

import pytest
import torch

import idinit_hf
from idinit_hf.families.mixtral import MIXTRAL
from idinit_hf.init import expert_shifts, idi_pattern, idiz_pattern
from idinit_hf.testing import inputs

EPS = 1e-6
D, WIDE, FINE, E = 16, 40, 12, 4  # the example: width 16, experts of 40 (Mixtral) or 12 (Qwen3-MoE), 4 experts
SHIFTS = [0, 4, 8, 12]  # ⌊e·16/4⌋


def build(model_type: str = "mixtral", **options):
    torch.manual_seed(0)
    config = MIXTRAL.example_config(model_type, vocab_size=256, init_method="idinit", **options)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def moe(model, layer: int = 0):
    block = model.model.layers[layer]
    return getattr(block, "mlp", None) or block.block_sparse_moe


def test_example_has_experts_wider_and_narrower_than_the_model():
    assert expert_shifts(E, D) == SHIFTS
    assert moe(build()).experts.gate_up_proj.shape == (E, 2 * WIDE, D)
    assert moe(build("qwen3_moe")).experts.gate_up_proj.shape == (E, 2 * FINE, D)


@pytest.mark.parametrize("router", ["default", "zero", "idi"])
def test_router_follows_the_router_option(router):
    model = build(idinit_router=router)
    weight = moe(model).gate.weight.detach()
    if router == "default":
        assert 0.01 < float(weight.std()) < 0.03  # the library's normal(0, 0.02): token-dependent routing
    elif router == "zero":
        assert torch.equal(weight, torch.zeros(E, D))  # every expert scores the same: uniform routing
    else:
        assert torch.equal(weight, torch.eye(E, D))  # expert e's logit reads dimension e
    assert idinit_hf.verify(model).ok


def test_wide_experts_are_shifted_loosened_identities_and_shifted_idiz():
    """Gate and up halves: each the 40 x 16 IDIτ (rows replicated, loosened) read through expert e's shift of the
    input; the down projection IDIZε (16 x 40: [εI | −εI | 0]) written through the same shift of the output."""
    experts = moe(build()).experts
    gate_up, down = experts.gate_up_proj.detach(), experts.down_proj.detach()
    for e, shift in enumerate(SHIFTS):
        for half in gate_up[e].chunk(2):
            assert torch.equal(half.round(decimals=3), idi_pattern(WIDE, D).roll(shift, dims=1))
            assert not torch.equal(half[:D], half[D : 2 * D])  # replicated rows are loosened
        assert torch.equal(down[e], idiz_pattern(D, WIDE, EPS).roll(shift, dims=0))


def test_fine_grained_experts_are_partial_identities_that_tile_the_model_dimensions():
    """Qwen3-MoE's 12-wide experts: expert e reads dimensions o_e … o_e + 11 (mod 16), exactly (no replicated rows,
    no loosening); together the experts read every dimension."""
    experts = moe(build("qwen3_moe")).experts
    gate_up, down = experts.gate_up_proj.detach(), experts.down_proj.detach()
    for e, shift in enumerate(SHIFTS):
        gate, up = gate_up[e].chunk(2)
        assert torch.equal(gate, idi_pattern(FINE, D).roll(shift, dims=1)) and torch.equal(up, gate)
        assert torch.equal(down[e], idiz_pattern(D, FINE, EPS).roll(shift, dims=0))
    assert (gate_up.sum(dim=(0, 1)) > 0).all()


def test_identical_experts_are_exact_copies():
    experts = moe(build(idinit_experts="identical")).experts
    for weight in (experts.gate_up_proj.detach(), experts.down_proj.detach()):
        assert all(torch.equal(weight[0], w) for w in weight[1:])
    assert torch.equal(experts.down_proj.detach()[0], idiz_pattern(D, WIDE, EPS))


def test_loosened_experts_are_one_identity_with_each_experts_own_noise():
    """Fine-grained experts have no replicated rows: only ``loosen`` perturbs them, each expert differently."""
    gate_up = moe(build("qwen3_moe", idinit_experts="loosen")).experts.gate_up_proj.detach()
    pattern = idi_pattern(FINE, D).repeat(2, 1)
    for weight in gate_up:
        assert torch.equal(weight[pattern == 0], torch.zeros(int((pattern == 0).sum())))
        taus = weight[pattern == 1]  # 1 + N(0, 1e-6²): draws below float32's spacing at 1 round back to 1
        assert (taus != 1).float().mean() > 0.5 and (taus - 1).abs().max() < 1e-4
    assert not torch.equal(gate_up[0], gate_up[1])


def test_library_experts_keep_the_idiz_down_projection():
    model = build(idinit_experts="default")
    experts = moe(model).experts
    assert 0.01 < float(experts.gate_up_proj.detach().std()) < 0.03
    assert all(torch.equal(w, idiz_pattern(D, WIDE, EPS)) for w in experts.down_proj.detach())
    assert idinit_hf.verify(model).ok


def test_the_gate_half_follows_the_gate_option():
    """``idinit_gate="default"``: the library writes the gate half, IDInit the up half; verify checks the up half."""
    model = build(idinit_gate="default")
    gate, up = moe(model).experts.gate_up_proj.detach()[1].chunk(2)
    assert 0.01 < float(gate.std()) < 0.03
    assert torch.equal(up.round(decimals=3), idi_pattern(WIDE, D).roll(SHIFTS[1], dims=1))
    assert idinit_hf.verify(model).ok
    moe(model).experts.gate_up_proj.data[1, WIDE + 3, 0] += 0.5  # a wrong up entry is still caught
    assert not idinit_hf.verify(model).ok


def test_dense_blocks_are_gated_mlps():
    """Qwen3-MoE's ``mlp_only_layers``: block 0 holds a dense gated MLP, initialized as Llama's."""
    model = build("qwen3_moe", mlp_only_layers=[0])
    mlp = model.model.layers[0].mlp
    assert torch.equal(mlp.up_proj.weight.detach().round(decimals=3), idi_pattern(WIDE, D))
    assert torch.equal(mlp.down_proj.weight.detach(), idiz_pattern(D, WIDE, EPS))
    assert hasattr(model.model.layers[1].mlp, "experts") and idinit_hf.verify(model).ok


@pytest.mark.parametrize("shared", ["idi", "default"])
def test_granitemoeshared_shared_mlp_follows_the_shared_experts_option(shared):
    model = build("granitemoeshared", idinit_shared_experts=shared)
    shared_mlp = model.model.layers[0].shared_mlp
    gate_up, down = shared_mlp.input_linear.weight.detach(), shared_mlp.output_linear.weight.detach()
    if shared == "idi":
        assert all(torch.equal(h.round(decimals=3), idi_pattern(WIDE, D)) for h in gate_up.chunk(2))
        assert torch.equal(down, idiz_pattern(D, WIDE, EPS))
    else:
        assert 0.01 < float(gate_up.std()) < 0.03 and 0.01 < float(down.std()) < 0.03
    assert idinit_hf.verify(model).ok


def test_a_zero_router_with_identical_experts_starves_every_expert_but_k():
    """Why neither is a default (docs/defaults.md): a zero router ties every expert, so every token goes to the same
    k experts; with identical experts the router's gradient vanishes (∂/∂logit_e ∝ f_e − Σ p f = 0) and, without the
    load-balancing loss, nothing ever breaks the tie."""
    model = build(idinit_router="zero", idinit_experts="identical", output_router_logits=False)
    batch = inputs("mixtral")["input_ids"]
    model(input_ids=batch, labels=batch).loss.backward()
    for layer in model.model.layers:
        fed = layer.mlp.experts.gate_up_proj.grad.flatten(1).abs().amax(1) > 0
        assert int(fed.sum()) == model.config.num_experts_per_tok
        assert float(layer.mlp.gate.weight.grad.abs().max()) < 1e-15
