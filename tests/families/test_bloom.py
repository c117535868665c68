"""BLOOM, role by role: the fused query_key_value interleaved per head, split by BloomAttention's own _reshape;
the embedding LayerNorm keeps the library's 1 / 0."""

import pytest
import torch
from helpers import attention_out_pattern, family

import idinit_hf

D = 16


def build(**config):
    config = family("bloom").example_config(vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_every_head_reads_its_own_dimensions(scale):
    attention = build(idinit_query_scale=scale).transformer.h[0].self_attention
    x = torch.randn(1, 5, D)
    query, key, value = attention._reshape(attention.query_key_value(x).detach())  # (batch, heads, length, head_dim)
    flat = [t.transpose(1, 2).flatten(2) for t in (query, key, value)]
    assert torch.equal(flat[0], scale * x) and torch.equal(flat[1], x) and torch.equal(flat[2], x)
    assert not torch.any(attention.query_key_value.bias)


def test_the_output_is_idiz_and_the_embedding_norm_the_librarys():
    model = build()
    assert torch.equal(model.transformer.h[0].self_attention.dense.weight.detach(), attention_out_pattern(D))
    norm = model.transformer.word_embeddings_layernorm
    assert torch.equal(norm.weight.detach(), torch.ones(D)) and not torch.any(norm.bias)
