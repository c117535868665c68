"""GPT-J, role by role: separate Q/K/V identities and IDIZε outputs in a block whose attention and MLP run in
parallel from one LayerNorm (both branches live, the sum an identity); the untied LM head and its bias follow
``idinit_heads``."""

import pytest
import torch
from helpers import attention_out_pattern, family, inputs, mlp_out_pattern, stacked_identity

import idinit_hf

D, HIDDEN = 16, 64


def build(**config):
    config = family("gptj").example_config(vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def test_query_key_value_are_identities_and_branch_outputs_idiz():
    block = build().transformer.h[0]
    for name in ("q_proj", "k_proj", "v_proj"):
        assert torch.equal(getattr(block.attn, name).weight.detach(), torch.eye(D)), name
    assert torch.equal(block.attn.out_proj.weight.detach(), attention_out_pattern(D))
    assert torch.equal(block.mlp.fc_out.weight.detach(), mlp_out_pattern(D, HIDDEN))


def test_both_parallel_branches_are_live_and_the_block_an_identity():
    report = idinit_hf.identity_report(build(), inputs("gptj"))
    assert report.max_identity_error() <= 1e-4
    assert all(0 < block.attention_branch <= 1e-4 and 0 < block.mlp_branch <= 1e-4 for block in report.blocks)


@pytest.mark.parametrize("heads", ["idi", "zero"])
def test_the_untied_lm_head_and_its_bias_follow_the_heads_option(heads):
    model = build(idinit_heads=heads)
    want = stacked_identity(256, D) if heads == "idi" else torch.zeros(256, D)  # IDIτ 256 x 16, loosened
    assert torch.equal(model.lm_head.weight.detach().round(decimals=3), want)
    assert not torch.any(model.lm_head.bias) and idinit_hf.verify(model).ok
