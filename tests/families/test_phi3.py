"""Phi-3, role by role: the fused qkv_proj (all query heads, then key, then value, grouped-query attention) split
the way Phi3Attention splits it, the fused gate_up_proj with an identity of its own in each half (the gate half by idinit_gate), IDIZε outputs."""

import pytest
import torch
from helpers import EPS, attention_out_pattern, family, stacked_identity

import idinit_hf

D, HEADS, KV, HIDDEN = 16, 4, 2, 40  # the example: 4 query heads on 2 key/value heads of 4, an MLP width of 40
HEAD_DIM = D // HEADS


def build(**config):
    config = family("phi3").example_config(vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("gqa, key_heads_read", [("repeat", [0, 1]), ("group", [0, 2])])
def test_qkv_proj_holds_the_query_then_the_grouped_key_and_value(gqa, key_heads_read):
    attention = build(idinit_gqa=gqa).model.layers[0].self_attn
    x = torch.randn(5, D)
    qkv = attention.qkv_proj(x).detach()  # Phi3Attention.forward: [:H·hd], then KV·hd key rows, then value rows
    query, key, value = qkv[:, :D], qkv[:, D : D + KV * HEAD_DIM], qkv[:, D + KV * HEAD_DIM :]
    reads = torch.cat([x[:, h * HEAD_DIM : (h + 1) * HEAD_DIM] for h in key_heads_read], dim=1)
    assert torch.equal(query, x) and torch.equal(key, reads) and torch.equal(value, reads)


def test_gate_and_up_halves_each_hold_a_loosened_identity_lined_up_row_for_row():
    mlp = build().model.layers[0].mlp
    gate, up = mlp.gate_up_proj.weight.detach().chunk(2)  # Phi3MLP.forward: gate = first half
    identity = stacked_identity(HIDDEN, D)  # 40 x 16: row i reads input i mod 16
    for half in (gate, up):
        assert torch.equal(half.round(decimals=3), identity)  # IDIτ up to the loosening noise
        assert torch.equal(half[identity == 0], torch.zeros(int((identity == 0).sum())))
    assert not torch.equal(gate, up)  # loosened: no two rows are tied


def test_the_gate_half_follows_the_gate_option():
    """``idinit_gate="default"`` leaves the gate half to the library (random), the up half is still IDIτ."""
    gate, up = build(idinit_gate="default").model.layers[0].mlp.gate_up_proj.weight.detach().chunk(2)
    identity = stacked_identity(HIDDEN, D)
    assert torch.equal(up.round(decimals=3), identity)
    assert 0.01 < float(gate.std()) < 0.04  # the library's N(0, 0.02)


def test_branch_outputs_are_idiz():
    layer = build().model.layers[0]
    assert torch.equal(layer.self_attn.o_proj.weight.detach(), attention_out_pattern(D))
    want = torch.zeros(D, HIDDEN)  # [εI | −εI | 0]
    want[:, :D], want[:, D : 2 * D] = EPS * torch.eye(D), -EPS * torch.eye(D)
    assert torch.equal(layer.mlp.down_proj.weight.detach(), want)
