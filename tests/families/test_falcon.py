"""Falcon, role by role: one fused query_key_value in its three configurations (multi-query, the classic per-head
layout, the new decoder architecture with grouped key/value heads), split by FalconAttention's own _split_heads; the
block an identity with parallel attention (one or two norms) and with the sequential block."""

import pytest
import torch
from helpers import attention_out_pattern, family, inputs

import idinit_hf

D, HEADS = 16, 4
HEAD_DIM = D // HEADS
CONFIGS = {
    "multi_query": dict(),  # Falcon-7B, the default: one key/value head, parallel attention
    "per_head": dict(multi_query=False),
    "new_architecture": dict(new_decoder_architecture=True, num_kv_heads=2),  # two norms, ln_attn and ln_mlp
    "sequential": dict(multi_query=False, parallel_attn=False),
}


def build(**config):
    config = family("falcon").example_config(vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def heads_of(x, heads):
    return torch.cat([x[..., h * HEAD_DIM : (h + 1) * HEAD_DIM] for h in heads], dim=-1)


@pytest.mark.parametrize("gqa", ["repeat", "group"])
@pytest.mark.parametrize("name", CONFIGS)
def test_the_split_heads_read_their_own_dimensions(name, gqa):
    attention = build(idinit_gqa=gqa, **CONFIGS[name]).transformer.h[0].self_attention
    x = torch.randn(1, 5, D)
    query, key, value = attention._split_heads(attention.query_key_value(x).detach())
    kv_heads = key.shape[2] if not attention.new_decoder_architecture else attention.num_kv_heads
    key_heads = [g * (HEADS // kv_heads if gqa == "group" else 1) for g in range(kv_heads)]
    assert torch.equal(query.flatten(2), x)
    # the new architecture broadcasts each key/value head to the query heads of its group
    want = heads_of(x, key_heads)
    if attention.new_decoder_architecture:
        want = heads_of(x, [key_heads[h // (HEADS // kv_heads)] for h in range(HEADS)])
    assert torch.equal(key.flatten(2), want) and torch.equal(value.flatten(2), want)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_configuration_is_exact_and_an_identity_at_init(name):
    model = build(num_hidden_layers=3, **CONFIGS[name])
    assert idinit_hf.verify(model).ok
    assert torch.equal(model.transformer.h[0].self_attention.dense.weight.detach(), attention_out_pattern(D))
    report = idinit_hf.identity_report(model, inputs("falcon"))
    assert len(report.blocks) == 3 and report.max_identity_error() <= 1e-4
