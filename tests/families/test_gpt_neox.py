"""GPT-NeoX, role by role: the fused query_key_value interleaved per head (split the way GPTNeoXAttention splits it,
every head's query, key and value read that head's dimensions), IDIZε branch outputs, zero biases, and the block an
identity with the parallel residual (the default) and with the sequential one."""

import pytest
import torch
from helpers import (
    assert_loosened_identity,
    attention_out_pattern,
    family,
    inputs,
    mlp_out_pattern,
    stacked_identity,
)

import idinit_hf

D, HEADS, HIDDEN = 16, 4, 64  # the example: 4 heads of 4
HEAD_DIM = D // HEADS


def build(**config):
    config = family("gpt_neox").example_config(vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.0])
def test_every_head_reads_its_own_dimensions_in_query_key_and_value(scale):
    attention = build(idinit_query_scale=scale).gpt_neox.layers[0].attention
    x = torch.randn(5, D)
    fused = attention.query_key_value(x).detach().view(5, HEADS, 3 * HEAD_DIM)  # GPTNeoXAttention.forward
    query, key, value = (part.reshape(5, D) for part in fused.chunk(3, dim=-1))
    assert torch.equal(query, scale * x) and torch.equal(key, x) and torch.equal(value, x)


def test_branch_outputs_are_idiz_the_mlp_input_a_loosened_identity_and_biases_zero():
    layer = build().gpt_neox.layers[0]
    assert torch.equal(layer.attention.dense.weight.detach(), attention_out_pattern(D))
    assert torch.equal(layer.mlp.dense_4h_to_h.weight.detach(), mlp_out_pattern(D, HIDDEN))
    assert_loosened_identity(layer.mlp.dense_h_to_4h.weight.detach())
    for linear in (layer.attention.query_key_value, layer.attention.dense, layer.mlp.dense_h_to_4h):
        assert torch.equal(linear.bias.detach(), torch.zeros_like(linear.bias))


@pytest.mark.parametrize("parallel", [True, False])
def test_the_block_is_an_identity_with_either_residual(parallel):
    model = build(use_parallel_residual=parallel, num_hidden_layers=3)
    assert model.gpt_neox.layers[0].use_parallel_residual is parallel
    report = idinit_hf.identity_report(model, inputs("gpt_neox"))
    assert len(report.blocks) == 3 and report.max_identity_error() <= 1e-4
    assert all(block.attention_branch > 0 and block.mlp_branch > 0 for block in report.blocks)  # no branch is dead


def test_the_measured_defaults_are_an_idi_lm_head_and_zero_queries_and_the_config_wins():
    """docs/defaults.md (issue 20): GPT-NeoX starts with an IDIτ untied LM head and Q = 0; a config value wins."""
    model = build()
    assert torch.equal(model.lm_head.weight.detach().round(decimals=3), stacked_identity(256, D))
    query = model.gpt_neox.layers[0].attention.query_key_value.weight.detach().view(HEADS, 3, HEAD_DIM, D)[:, 0]
    assert not torch.any(query)
    stock_choices = build(idinit_heads="default", idinit_query_scale=1.0)
    assert 0.01 < float(stock_choices.lm_head.weight.detach().std()) < 0.03
    assert idinit_hf.verify(model).ok and idinit_hf.verify(stock_choices).ok
