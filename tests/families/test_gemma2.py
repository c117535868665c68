"""The Gemma 2 layout (sandwich norms, Gemma's ``(1 + w)`` RMSNorm), role by role: the post-branch norms store a
gain of ε as ``w = ε − 1`` (exactly ``−1``, a gain of 0, in bfloat16), every other norm keeps ``w = 0`` (a gain of 1),
and every model type of the installed transformers with exactly this layout is covered."""

from __future__ import annotations

import pytest
import torch
from helpers import assert_replicas_loosened_apart, family, inputs, model_type_sweep
from layouts import gain_offset, sandwich_types

import idinit_hf
from idinit_hf.families import GEMMA2

EPS = 1e-6
D, HIDDEN, HEAD_DIM = 16, 40, 4


def build(model_type: str = "gemma2", dtype=None, **options):
    config = GEMMA2.example_config(model_type, vocab_size=256, init_method="idinit", **options)
    return idinit_hf.AutoModelForCausalLM.from_config(config, dtype=dtype)


def weight(module) -> torch.Tensor:
    return module.weight.detach()


@pytest.mark.parametrize("model_type", model_type_sweep(GEMMA2.model_types))
def test_post_branch_norms_hold_epsilon_minus_one_and_the_others_zero(model_type):
    model = build(model_type)
    for layer in model.model.layers:
        for name in ("post_attention_layernorm", "post_feedforward_layernorm"):
            assert torch.equal(weight(getattr(layer, name)), torch.full((D,), EPS - 1.0)), name
        for name in ("input_layernorm", "pre_feedforward_layernorm"):
            assert torch.equal(weight(getattr(layer, name)), torch.zeros(D)), name
    assert torch.equal(weight(model.model.norm), torch.zeros(D))


def test_the_gain_the_norm_applies_is_epsilon():
    norm = build().model.layers[0].post_attention_layernorm
    z = torch.randn(2, 3, D)
    want = EPS * z * torch.rsqrt(z.pow(2).mean(-1, keepdim=True) + norm.eps)
    assert torch.allclose(norm(z), want, rtol=0.07, atol=0)  # (1 + w) = ε up to float32's spacing near 1 (6e-8)


def test_in_bfloat16_the_post_branch_gain_is_exactly_zero():
    layer = build(dtype=torch.bfloat16).model.layers[0]
    assert torch.equal(weight(layer.post_attention_layernorm), torch.full((D,), -1.0, dtype=torch.bfloat16))


def test_gemma3_qk_norms_keep_the_library_default():
    attention = build("gemma3_text").model.layers[0].self_attn
    assert torch.equal(weight(attention.q_norm), torch.zeros(HEAD_DIM))
    assert torch.equal(weight(attention.k_norm), torch.zeros(HEAD_DIM))


def test_the_linear_layers_ending_a_branch_follow_normed_out_and_the_head_is_tied():
    model = build(idinit_normed_out="idi")
    layer = model.model.layers[0]
    assert torch.equal(weight(layer.self_attn.o_proj), torch.eye(D))
    assert torch.equal(weight(layer.mlp.down_proj), torch.cat([torch.eye(D), torch.zeros(D, HIDDEN - D)], dim=1))
    assert model.lm_head.weight is model.model.embed_tokens.weight  # Gemma ties its head by default
    # the Gemma 2 layout's own default: IDIZε there as well as the ε gain (docs/defaults.md)
    assert torch.equal(weight(build().model.layers[0].self_attn.o_proj), EPS * (torch.eye(D) - torch.eye(D).roll(1, 1)))


@pytest.mark.parametrize("model_type", model_type_sweep(GEMMA2.model_types))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(model_type):
    model = build(model_type)
    report = idinit_hf.verify(model)
    written = [layer for layer in report.layers if layer.rule not in (idinit_hf.Rule.DEFAULT, idinit_hf.Rule.TIED)
               and layer.name.startswith("model.layers.")]
    assert len(written) == 9 * model.config.num_hidden_layers and report.ok, str(report)  # 5 IDIτ, 2 IDIZε, 2 gains
    every_weight = {name for name, _ in model.model.layers.named_parameters()}
    tagged = {layer.name.removeprefix("model.layers.") for layer in report.layers}
    assert every_weight <= tagged  # every weight inside a decoder block has a role
    identity = idinit_hf.identity_report(model, inputs("gemma2"))
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


@pytest.mark.slow
def test_every_gemma2_layout_model_type_is_covered():
    """Decoder layers that hold exactly these projections and four norms (plus q/k norms), whose two branches end in
    the post norms (checked on a forward pass), nothing outside them but the embedding, final norm and head, and
    Gemma's (1 + w) norms (plain w gains are the Gemma 4 unified table's)."""
    found = {t for t in sandwich_types() if gain_offset(t) == 1.0}
    assert found == set(GEMMA2.model_types), (sorted(found - set(GEMMA2.model_types)),
                                              sorted(set(GEMMA2.model_types) - found))


def test_the_family_is_registered():
    assert family("gemma2") is GEMMA2 and "gemma3_text" in idinit_hf.supported_model_types()


@pytest.mark.parametrize("model_type", model_type_sweep(GEMMA2.model_types))
def test_replicas_start_apart_under_the_family_loosening(model_type):
    """The family's default (issue 19, LOOSENED_REPLICAS): N(0, (0.5/√d)²) on every entry of the tall gate and up
    IDIτ around their stacked identities, so the replicated rows start apart."""
    mlp = build(model_type).model.layers[0].mlp
    for name in ("gate_proj", "up_proj"):
        assert_replicas_loosened_apart(weight(getattr(mlp, name)), tol=0.2, name=name)  # 640 draws
