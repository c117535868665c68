"""Phi, role by role: a parallel block with biases everywhere (all 0), grouped-query key/value rows, per-head
query/key LayerNorms at the library's 1 / 0, the untied LM head's bias 0."""

import torch
from helpers import attention_out_pattern, family, inputs, mlp_out_pattern

import idinit_hf

D, HEAD_DIM = 16, 4


def test_parallel_block_with_qk_norms_and_zero_biases_is_exact_and_an_identity():
    config = family("phi").example_config(vocab_size=256, init_method="idinit", qk_layernorm=True)
    model = idinit_hf.AutoModelForCausalLM.from_config(config)
    assert idinit_hf.verify(model).ok
    attention, mlp = model.model.layers[0].self_attn, model.model.layers[0].mlp
    assert torch.equal(attention.k_proj.weight.detach(), torch.eye(2 * HEAD_DIM, D))  # 2 key/value heads
    assert torch.equal(attention.dense.weight.detach(), attention_out_pattern(D))
    assert torch.equal(mlp.fc2.weight.detach(), mlp_out_pattern(D, 4 * D))
    assert not any(torch.any(m.bias) for m in (attention.q_proj, attention.dense, mlp.fc1, mlp.fc2, model.lm_head))
    for norm in (attention.q_layernorm, attention.k_layernorm):
        assert torch.equal(norm.weight.detach(), torch.ones(HEAD_DIM))
    assert idinit_hf.identity_report(model, inputs("phi")).max_identity_error() <= 1e-4
