"""DeBERTa-v2, role by role: BERT's post-LN block with disentangled relative attention (the v3 settings of the
example, shared position keys, or separate position projections), the relative-position table and its option, the
optional convolution branch, the embedding projection and both MLM heads."""

import pytest
import torch
from helpers import (
    HIDDEN,
    D,
    assert_default_random,
    assert_loosened_identity,
    attention_out_pattern,
    eye,
    mlp_out_pattern,
)
from transformers.models.deberta_v2 import modeling_deberta_v2 as deberta

import idinit_hf
from idinit_hf.families.deberta_v2 import DEBERTA_V2
from idinit_hf.testing import inputs, tiny_config


def build(**config):
    return idinit_hf.AutoModelForMaskedLM.from_config(DEBERTA_V2.example_config(init_method="idinit", **config))


def attention(model, layer=0) -> deberta.DisentangledSelfAttention:
    return model.deberta.encoder.layer[layer].attention.self


def test_blocks_are_berts():
    model = build()
    for layer in model.deberta.encoder.layer:
        for projection in (layer.attention.self.query_proj, layer.attention.self.key_proj,
                           layer.attention.self.value_proj):
            assert torch.equal(projection.weight.detach(), eye(D)) and torch.equal(projection.bias, torch.zeros(D))
        assert torch.equal(layer.attention.output.dense.weight.detach(), attention_out_pattern(D))
        assert_loosened_identity(layer.intermediate.dense.weight.detach())
        assert torch.equal(layer.output.dense.weight.detach(), mlp_out_pattern(D, HIDDEN))


@pytest.mark.parametrize("rule", ["default", "idi"])
def test_the_relative_position_table_follows_its_option(rule):
    """2 x 8 buckets of width 16: IDIτ is the identity (bucket b → e_b); the library's is N(0, 0.02²)."""
    table = build(idinit_relative_positions=rule).deberta.encoder.rel_embeddings.weight
    assert table.shape == (D, D)
    if rule == "idi":
        assert torch.equal(table.detach(), eye(D))
    else:
        assert_default_random(table)


@pytest.mark.parametrize("rule", ["idi", "default"])
def test_separate_position_projections_follow_their_option(rule):
    model = build(share_att_key=False, idinit_position_projections=rule)
    for projection in (attention(model).pos_key_proj, attention(model).pos_query_proj):
        if rule == "idi":
            assert torch.equal(projection.weight.detach(), eye(D))
        else:
            assert_default_random(projection.weight)
    assert idinit_hf.verify(model).ok


def test_shared_position_keys_have_no_projection_of_their_own():
    assert not hasattr(attention(build()), "pos_key_proj")


def test_the_convolution_branch_ends_in_idizc_and_keeps_x_to_ln_x():
    config = tiny_config("deberta_v2", depth=3, init_method="idinit", conv_kernel_size=3)
    model = idinit_hf.AutoModelForMaskedLM.from_config(config)
    kernel = model.deberta.encoder.conv.conv.weight.detach()  # 16 x 16 x 3, flattened 16 x 48: [εI, −εI, 0]
    want = torch.zeros(D, 3 * D)
    want[:, :D], want[:, D : 2 * D] = 1e-6 * eye(D), -1e-6 * eye(D)
    assert torch.equal(kernel.reshape(D, -1), want)
    report = idinit_hf.identity_report(model, inputs("deberta_v2"))
    assert report.max_branch() <= 1e-4 and report.max_identity_error() <= 1e-3


def test_absolute_positions_token_types_and_a_projected_embedding():
    model = build(position_biased_input=True, type_vocab_size=2, embedding_size=8)
    embeddings = model.deberta.embeddings
    assert torch.equal(embeddings.token_type_embeddings.weight.detach(), eye(8)[:2])
    assert_loosened_identity(embeddings.position_embeddings.weight.detach())  # 32 x 8
    assert_loosened_identity(embeddings.embed_proj.weight.detach())  # 16 x 8, no bias
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("legacy", [True, False])
def test_both_mlm_heads(legacy):
    model = build(legacy=legacy)
    head = model.cls.predictions.transform.dense if legacy else model.lm_predictions.lm_head.dense
    assert_default_random(head.weight)
    if legacy:
        assert model.cls.predictions.decoder.weight is model.deberta.embeddings.word_embeddings.weight
    assert idinit_hf.verify(model).ok


def test_the_config_classs_own_defaults_without_relative_attention():
    model = idinit_hf.AutoModelForMaskedLM.from_config(DEBERTA_V2.example_config(
        init_method="idinit", relative_attention=False, pos_att_type=None, position_biased_input=True))
    assert not hasattr(model.deberta.encoder, "rel_embeddings") and idinit_hf.verify(model).ok
