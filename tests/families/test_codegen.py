"""CodeGen, role by role: the fused qkv_proj in CodeGen's row order (4 shards of query, VALUE and key rows), split
the way CodeGenAttention splits it: every head's query, key and value read that head's dimensions."""

import pytest
import torch
from helpers import attention_out_pattern, family

import idinit_hf

D = 16  # the example: 4 heads of 4, in 4 shards (mp_num) of 4 rows per projection


def build(**config):
    config = family("codegen").example_config(vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("scale", [1.0, 0.0])
def test_query_value_and_key_of_every_shard_read_their_own_dimensions(scale):
    attention = build(idinit_query_scale=scale).transformer.h[0].attn
    assert attention.mp_num == 4
    x = torch.randn(5, D)
    local = D // attention.mp_num
    qkv = attention.qkv_proj(x).detach().view(5, attention.mp_num, 3 * local)  # CodeGenAttention.forward
    query, value, key = (part.reshape(5, D) for part in qkv.split(local, dim=-1))
    assert torch.equal(query, scale * x) and torch.equal(key, x) and torch.equal(value, x)


def test_the_attention_output_is_idiz_and_the_untied_head_keeps_its_default():
    model = build()
    assert torch.equal(model.transformer.h[0].attn.out_proj.weight.detach(), attention_out_pattern(D))
    assert 0.01 < float(model.lm_head.weight.detach().std()) < 0.03 and not torch.any(model.lm_head.bias)
