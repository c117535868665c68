"""OPT, role by role: the fairseq layout (fc1/fc2 in the decoder layer), the projections between the embedding
width and the model width (project_in: an embedding, project_out: a head), and with do_layer_norm_before=False
(OPT-350m) the post-LN block whose branches still start ≈ 0."""

import torch
from helpers import attention_out_pattern, family, inputs, mlp_out_pattern, stacked_identity

import idinit_hf

D, HIDDEN = 16, 64


def build(**config):
    config = family("opt").example_config(vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def test_fc1_fc2_in_the_decoder_layer_and_the_attention_output():
    layer = build().model.decoder.layers[0]
    assert torch.equal(layer.self_attn.q_proj.weight.detach(), torch.eye(D))
    assert torch.equal(layer.self_attn.out_proj.weight.detach(), attention_out_pattern(D))
    assert torch.equal(layer.fc1.weight.detach().round(decimals=3), stacked_identity(4 * D, D))
    assert torch.equal(layer.fc2.weight.detach(), mlp_out_pattern(D, HIDDEN))
    assert not torch.any(layer.fc1.bias) and not torch.any(layer.self_attn.q_proj.bias)


def test_the_embedding_projections_follow_the_embeddings_and_heads_options():
    model = build(word_embed_proj_dim=8, idinit_embeddings="idi", idinit_heads="idi")
    decoder = model.model.decoder
    assert torch.equal(decoder.project_in.weight.detach().round(decimals=3), torch.eye(8).repeat(2, 1))  # 16 x 8
    assert torch.equal(decoder.project_out.weight.detach(), torch.eye(8, D))  # 8 x 16: [I | 0]
    assert idinit_hf.verify(model).ok
    default = build(word_embed_proj_dim=8).model.decoder
    assert 0.01 < float(default.project_in.weight.detach().std()) < 0.03  # the library's normal(0, 0.02)


def test_post_ln_opt_branches_start_near_zero():
    model = build(do_layer_norm_before=False, num_hidden_layers=3)
    assert idinit_hf.verify(model).ok
    assert idinit_hf.identity_report(model, inputs("opt")).max_branch() <= 1e-4
