"""Persimmon, role by role: the fused query_key_value interleaved per head, split by PersimmonAttention's own
_split_heads, and the per-head query/key LayerNorms at the library's 1 / 0."""

import torch
from helpers import family

import idinit_hf

D, HEAD_DIM = 16, 4


def test_every_head_reads_its_own_dimensions_and_the_qk_norms_are_the_librarys():
    config = family("persimmon").example_config(vocab_size=256, init_method="idinit", idinit_query_scale=0.5)
    attention = idinit_hf.AutoModelForCausalLM.from_config(config).model.layers[0].self_attn
    x = torch.randn(1, 5, D)
    query, key, value = attention._split_heads(attention.query_key_value(x).detach())  # (batch, length, heads, hd)
    assert torch.equal(query.flatten(2), 0.5 * x) and torch.equal(key.flatten(2), x) and torch.equal(value.flatten(2), x)
    for norm in (attention.q_layernorm, attention.k_layernorm):
        assert torch.equal(norm.weight.detach(), torch.ones(HEAD_DIM)) and not torch.any(norm.bias)
