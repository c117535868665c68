"""StarCoder2, role by role: grouped-query key/value rows, zero biases, IDIZε on o_proj and c_proj."""

import pytest
import torch
from helpers import attention_out_pattern, family, mlp_out_pattern

import idinit_hf

D, KV_ROWS = 16, 8  # 4 query heads on 2 key/value heads of 4


@pytest.mark.parametrize("gqa, key_rows", [("repeat", torch.eye(KV_ROWS, D)),
                                           ("group", torch.eye(D)[[0, 1, 2, 3, 8, 9, 10, 11]])])
def test_grouped_key_value_rows_zero_biases_and_idiz_outputs(gqa, key_rows):
    config = family("starcoder2").example_config(vocab_size=256, init_method="idinit", idinit_gqa=gqa)
    layer = idinit_hf.AutoModelForCausalLM.from_config(config).model.layers[0]
    assert torch.equal(layer.self_attn.k_proj.weight.detach(), key_rows)
    assert torch.equal(layer.self_attn.v_proj.weight.detach(), key_rows)
    assert torch.equal(layer.self_attn.o_proj.weight.detach(), attention_out_pattern(D))
    assert torch.equal(layer.mlp.c_proj.weight.detach(), mlp_out_pattern(D, 4 * D))
    assert not any(torch.any(m.bias) for m in (layer.self_attn.q_proj, layer.self_attn.o_proj, layer.mlp.c_fc))
