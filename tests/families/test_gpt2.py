"""The GPT-2 family, role by role: what every layer holds after from_config (Conv1D storage, fused Q|K|V,
cross-attention, the tied head)."""

import pytest
import torch
from helpers import (
    HIDDEN,
    PAPERS_LOOSENING,
    D,
    assert_default_random,
    assert_loosened_identity,
    assert_replicas_loosened_apart,
    attention_out_pattern,
    eye,
    family,
    layers_of,
    mlp_out_pattern,
)
from transformers.models.gpt2 import modeling_gpt2 as gpt2

import idinit_hf

GPT2_CLASSES = ["IDInitGPT2Model", "IDInitGPT2LMHeadModel", "IDInitGPT2ForSequenceClassification"]


@pytest.fixture(params=GPT2_CLASSES)
def gpt2_model(request):
    return getattr(idinit_hf, request.param)._from_config(family("gpt2").example_config(init_method="idinit", num_labels=3))


def test_gpt2_attention_in_is_identity_per_qkv_block(gpt2_model):
    """K and V get the identity; Q starts at 0 (GPT-2's family default idinit_query_scale=0)."""
    for attention in layers_of(gpt2_model, gpt2.GPT2Attention):
        q, k, v = attention.c_attn.weight.detach().split(D, dim=1)  # stored (in, out) = (d, 3d)
        assert torch.equal(q, torch.zeros(D, D)) and torch.equal(k, eye(D)) and torch.equal(v, eye(D))
        assert torch.equal(attention.c_attn.bias, torch.zeros(3 * D))


def test_gpt2_attention_out_is_zero_preserving(gpt2_model):
    for attention in layers_of(gpt2_model, gpt2.GPT2Attention):
        assert torch.equal(attention.c_proj.weight.detach().t(), attention_out_pattern(D))
        assert torch.equal(attention.c_proj.bias, torch.zeros(D))


def test_gpt2_mlp(gpt2_model):
    """c_fc: stacked identities plus GPT-2's family loosening (issue 19), N(0, (0.5/√d)²) on every entry, so that
    its replicated rows start apart; c_proj: IDIZε."""
    for mlp in layers_of(gpt2_model, gpt2.GPT2MLP):
        assert_replicas_loosened_apart(mlp.c_fc.weight.detach().t(), tol=0.1)  # 64 x 16 draws
        assert torch.equal(mlp.c_proj.weight.detach().t(), mlp_out_pattern(D, HIDDEN))
        assert torch.equal(mlp.c_fc.bias, torch.zeros(HIDDEN)) and torch.equal(mlp.c_proj.bias, torch.zeros(D))


def test_gpt2_mlp_with_the_papers_loosening_is_a_loosened_identity():
    config = family("gpt2").example_config(init_method="idinit", **PAPERS_LOOSENING)
    for mlp in layers_of(idinit_hf.IDInitGPT2Model(config), gpt2.GPT2MLP):
        assert_loosened_identity(mlp.c_fc.weight.detach().t())


def test_gpt2_token_table_is_small_init(gpt2_model):
    """GPT-2's family default idinit_token_table="small" (issue 19): N(0, 2/(5d)), the exact draws verify rebuilds."""
    body = gpt2_model if isinstance(gpt2_model, gpt2.GPT2Model) else gpt2_model.transformer
    std = float(body.wte.weight.std())
    assert abs(std / (2 / (5 * D)) ** 0.5 - 1) < 0.05  # 256 x 16 draws: the estimate is within ~1.5%
    layer = next(layer for layer in idinit_hf.verify(gpt2_model).layers if layer.name.endswith("wte.weight"))
    assert layer.rule is idinit_hf.Rule.SMALL and layer.matches


def test_gpt2_positions_and_norms_keep_the_library_default(gpt2_model):
    body = gpt2_model if isinstance(gpt2_model, gpt2.GPT2Model) else gpt2_model.transformer
    assert_default_random(body.wpe.weight)
    for norm in layers_of(gpt2_model, torch.nn.LayerNorm):
        assert torch.equal(norm.weight, torch.ones(D)) and torch.equal(norm.bias, torch.zeros(D))


def test_gpt2_lm_head_stays_tied():
    model = idinit_hf.IDInitGPT2LMHeadModel(family("gpt2").example_config(init_method="idinit"))
    assert model.lm_head.weight is model.transformer.wte.weight


def test_gpt2_cross_attention_blocks():
    model = idinit_hf.IDInitGPT2Model(family("gpt2").example_config(init_method="idinit", add_cross_attention=True))
    cross = model.h[0].crossattention
    assert torch.equal(cross.q_attn.weight.detach(), torch.zeros(D, D))
    for block in cross.c_attn.weight.detach().split(D, dim=1):  # fused K|V
        assert torch.equal(block, eye(D))
