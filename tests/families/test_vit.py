"""The ViT family, role by role: what every layer holds after from_config (IDICτ patch embedding, class token and
positions, a SmallInit query by default)."""

import pytest
import torch
from helpers import (
    HIDDEN,
    D,
    assert_default_random,
    assert_loosened_identity,
    assert_small_init,
    attention_out_pattern,
    eye,
    family,
    layers_of,
    mlp_out_pattern,
)
from transformers.models.vit import modeling_vit as vit

import idinit_hf

VIT_CLASSES = ["IDInitViTModel", "IDInitViTForImageClassification", "IDInitViTForMaskedImageModeling"]


@pytest.fixture(params=VIT_CLASSES)
def vit_model(request):
    return getattr(idinit_hf, request.param)._from_config(family("vit").example_config(init_method="idinit"))


def test_vit_attention(vit_model):
    """ViT's query projection is SmallInit (its family default idinit_query="small": token-dependent attention at
    init, issue 19), its bias 0; key and value IDIτ, output IDIZε."""
    for attention in layers_of(vit_model, vit.ViTAttention):
        assert_small_init(attention.q_proj.weight)
        assert torch.equal(attention.q_proj.bias.detach(), torch.zeros(D))
        for projection in (attention.k_proj, attention.v_proj):
            assert torch.equal(projection.weight.detach(), eye(D))
        assert torch.equal(attention.o_proj.weight.detach(), attention_out_pattern(D))


def test_vit_query_is_zero_with_query_idi():
    """idinit_query="idi" gives back the Q = 0 of ViT's idinit_query_scale=0 (ViT's default before issue 19)."""
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_query="idi"))
    for attention in layers_of(model, vit.ViTAttention):
        assert torch.equal(attention.q_proj.weight.detach(), torch.zeros(D, D))


def test_vit_mlp(vit_model):
    for mlp in layers_of(vit_model, vit.ViTMLP):
        assert_loosened_identity(mlp.fc1.weight.detach())
        assert torch.equal(mlp.fc2.weight.detach(), mlp_out_pattern(D, HIDDEN))


def test_vit_patch_embedding_is_idic(vit_model):
    projection = layers_of(vit_model, vit.ViTPatchEmbeddings)[0].projection
    assert_loosened_identity(projection.weight.detach().reshape(D, -1))  # 16 x (1·2·2): tall
    assert torch.equal(projection.bias, torch.zeros(D))


def test_vit_patch_embedding_is_small_init_when_asked():
    """idinit_patch_embedding="small": N(0, 2/(5d)) with d = 16 output channels (GPT-NeoX's, not the 1·2·2 fan-in's
    std), a zero bias, the draws verify rebuilds."""
    config = family("vit").example_config(init_method="idinit", idinit_patch_embedding="small")
    model = idinit_hf.IDInitViTModel(config)
    projection = model.embeddings.patch_embeddings.projection
    assert abs(float(projection.weight.detach().std()) / (2 / (5 * D)) ** 0.5 - 1) < 0.25  # 16 x 4 draws
    assert torch.equal(projection.bias.detach(), torch.zeros(D))
    layer = next(layer for layer in idinit_hf.verify(model).layers if layer.name.endswith("projection.weight"))
    assert layer.rule is idinit_hf.Rule.SMALL and layer.matches


def test_vit_class_token_and_positions_are_idi_by_default(vit_model):
    """ViT's family default idinit_embeddings="idi" (issue 12): class token e_0, position p → e_(p mod d)."""
    embeddings = layers_of(vit_model, vit.ViTEmbeddings)[0]
    assert torch.equal(embeddings.cls_token.detach().view(1, D), eye(D)[:1])
    assert_loosened_identity(embeddings.position_embeddings.detach().view(-1, D))  # 17 x 16: tall


def test_vit_class_token_and_positions_default_when_asked():
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_embeddings="default"))
    assert_default_random(model.embeddings.position_embeddings)


def test_vit_classifier_is_small_init():
    """ViT's family default idinit_heads="small" (issue 19): N(0, 2/(5·fan-in)), the draws verify rebuilds."""
    model = idinit_hf.IDInitViTForImageClassification(family("vit").example_config(init_method="idinit"))
    weight = model.classifier.weight.detach()
    assert abs(float(weight.std()) / (2 / (5 * weight.shape[1])) ** 0.5 - 1) < 0.25  # 10 x 16 draws
    layer = next(layer for layer in idinit_hf.verify(model).layers if layer.name.endswith("classifier.weight"))
    assert layer.rule is idinit_hf.Rule.SMALL and layer.matches
