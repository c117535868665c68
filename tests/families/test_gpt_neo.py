"""GPT-Neo, role by role: Q/K/V inside the attention wrapper, global and local layers in turn for any depth
(Family.derive), every block an identity at init."""

import pytest
import torch
from helpers import attention_out_pattern, family, inputs, tiny_config

import idinit_hf


@pytest.mark.parametrize("depth, kinds", [(3, ["global", "local", "global"]), (4, ["global", "local"] * 2)])
def test_any_depth_alternates_global_and_local_layers(depth, kinds):
    assert family("gpt_neo").example_config(num_hidden_layers=depth).attention_layers == kinds
    assert tiny_config("gpt_neo", depth=depth, width=32).attention_layers == kinds


def test_global_and_local_layers_are_exact_identities_at_init():
    config = family("gpt_neo").example_config(vocab_size=256, num_hidden_layers=3, init_method="idinit")
    model = idinit_hf.AutoModelForCausalLM.from_config(config)
    assert idinit_hf.verify(model).ok
    attention = model.transformer.h[1].attn
    assert attention.attention_type == "local"
    assert torch.equal(attention.attention.q_proj.weight.detach(), torch.eye(16))
    assert torch.equal(attention.attention.out_proj.weight.detach(), attention_out_pattern(16))
    assert not torch.any(attention.attention.out_proj.bias)
    assert idinit_hf.identity_report(model, inputs("gpt_neo")).max_identity_error() <= 1e-4
