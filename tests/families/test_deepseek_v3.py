"""The DeepSeek-V3 family, role by role: multi-head latent attention (every projection of the chain IDIτ, the
query's last one scaled by ``idinit_query_scale``, the output IDIZε, the latent norms the library's), a dense first
block, then routed experts (a float32 router) with shared experts."""

from __future__ import annotations

import torch

import idinit_hf
from idinit_hf.families.deepseek_v3 import DEEPSEEK_V3
from idinit_hf.init import idi_pattern, idiz_pattern

EPS = 1e-6
D, HEADS, LATENT, NOPE, ROPE, V, WIDE = 16, 4, 8, 4, 2, 4, 40


def build(**options):
    torch.manual_seed(0)
    return idinit_hf.AutoModelForCausalLM.from_config(
        DEEPSEEK_V3.example_config(vocab_size=256, init_method="idinit", **options))


def rounded(module) -> torch.Tensor:
    return module.weight.detach().round(decimals=3)


def test_latent_attention_projections_are_identities_and_the_output_idiz():
    attn = build().model.layers[0].self_attn
    assert torch.equal(rounded(attn.q_a_proj), idi_pattern(LATENT, D))  # 8 x 16: reads the first 8 dims
    assert torch.equal(rounded(attn.q_b_proj), idi_pattern(HEADS * (NOPE + ROPE), LATENT))  # 24 x 8: replicated
    assert torch.equal(rounded(attn.kv_a_proj_with_mqa), idi_pattern(LATENT + ROPE, D))
    assert torch.equal(rounded(attn.kv_b_proj), idi_pattern(HEADS * (NOPE + V), LATENT))
    assert torch.equal(attn.o_proj.weight.detach(), idiz_pattern(D, HEADS * V, EPS))
    assert torch.equal(attn.q_a_layernorm.weight.detach(), torch.ones(LATENT))


def test_the_query_scale_reaches_the_last_query_projection():
    attn = build(idinit_query_scale=0.0).model.layers[0].self_attn
    assert not attn.q_b_proj.weight.detach().any() and attn.q_a_proj.weight.detach().any()
    direct = build(q_lora_rank=None, idinit_query_scale=0.5).model.layers[0].self_attn  # Sarvam-MLA's queries
    assert torch.equal(rounded(direct.q_proj), 0.5 * idi_pattern(HEADS * (NOPE + ROPE), D))


def test_a_dense_first_block_then_routed_and_shared_experts():
    model = build()
    dense, mixture = model.model.layers[0].mlp, model.model.layers[1].mlp
    assert torch.equal(rounded(dense.up_proj), idi_pattern(WIDE, D))
    assert torch.equal(dense.down_proj.weight.detach(), idiz_pattern(D, WIDE, EPS))
    assert torch.equal(rounded(mixture.shared_experts.gate_proj), idi_pattern(WIDE, D))
    assert torch.equal(mixture.shared_experts.down_proj.weight.detach(), idiz_pattern(D, WIDE, EPS))
    assert mixture.gate.weight.dtype == torch.float32 and 0.01 < float(mixture.gate.weight.detach().std()) < 0.03
    assert idinit_hf.verify(model).ok


def test_a_zero_router_in_bfloat16_stays_float32_and_zero():
    model = idinit_hf.AutoModelForCausalLM.from_config(
        DEEPSEEK_V3.example_config(vocab_size=256, init_method="idinit", idinit_router="zero"), dtype=torch.bfloat16)
    gate = model.model.layers[1].mlp.gate.weight
    assert gate.dtype == torch.float32 and not gate.detach().any() and idinit_hf.verify(model).ok
