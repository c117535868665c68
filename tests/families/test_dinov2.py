"""The DINOv2 family (DINOv2 and DINOv2 with registers), role by role: ViT's rules plus the layer scales (the config's
1.0, the identity gain) and the SwiGLU MLP; every block an identity map at init on real images; DINOv2 and DINOv2
with registers (the same blocks, register tokens besides) are the model types with this layout."""

import pytest
import torch
from helpers import (
    EPS,
    assert_loosened_identity,
    assert_small_init,
    attention_out_pattern,
    eye,
    family,
    inputs,
    mlp_out_pattern,
    model_type_sweep,
)

import idinit_hf
from idinit_hf.families import DINOV2

D = 16


def build(model_type="dinov2", **options):
    config = DINOV2.example_config(model_type, init_method="idinit", **options)
    return idinit_hf.AutoModelForImageClassification.from_config(config)


def blocks(model):
    return [m for m in model.modules() if DINOV2.is_block(m)]


@pytest.mark.parametrize("model_type", model_type_sweep(DINOV2.model_types))
def test_attention_mlp_and_layer_scales(model_type):
    for layer in blocks(build(model_type)):
        attention = layer.attention
        assert_small_init(attention.q_proj.weight)  # ViT's default: a SmallInit query
        assert torch.equal(attention.k_proj.weight.detach(), eye(D))
        assert torch.equal(attention.o_proj.weight.detach(), attention_out_pattern(D))
        assert_loosened_identity(layer.mlp.fc1.weight.detach())
        assert torch.equal(layer.mlp.fc2.weight.detach(), mlp_out_pattern(D, 4 * D))
        for scale in (layer.layer_scale1, layer.layer_scale2):
            assert torch.equal(scale.lambda1.detach(), torch.ones(D))


def test_the_swiglu_mlp_is_a_gated_identity_and_idiz():
    for layer in blocks(build(use_swiglu_ffn=True)):
        mlp = layer.mlp
        hidden = mlp.up_proj.weight.shape[0]
        assert_loosened_identity(mlp.up_proj.weight.detach())
        assert torch.equal(mlp.gate_proj.weight.detach().round(decimals=4), mlp.up_proj.weight.detach().round(decimals=4))
        down = mlp.down_proj.weight.detach()
        assert torch.equal(down[:, :D], EPS * torch.eye(D)) and torch.equal(down[:, D : 2 * D], -EPS * torch.eye(D))
        assert down.shape == (D, hidden)


def test_class_token_and_positions_are_idi_and_registers_keep_the_librarys_zeros():
    embeddings = build("dinov2_with_registers").dinov2_with_registers.embeddings
    assert torch.equal(embeddings.cls_token.detach().view(1, D), eye(D)[:1])
    assert not embeddings.register_tokens.any() and not embeddings.mask_token.any()


@pytest.mark.parametrize("options", [{}, {"use_swiglu_ffn": True}])
@pytest.mark.parametrize("model_type", model_type_sweep(DINOV2.model_types))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(model_type, options):
    model = build(model_type, **options)
    report = idinit_hf.verify(model)
    assert report.ok
    tagged = {layer.name for layer in report.layers}
    inside = {f"{path}.{p}" for path, block in model.named_modules() if DINOV2.is_block(block)
              for p, _ in block.named_parameters()}
    assert inside <= tagged
    identity = idinit_hf.identity_report(model, inputs("dinov2"))
    assert identity.max_identity_error() < 1e-5 and identity.max_branch() < 1e-5


@pytest.mark.slow
def test_dinov2_and_dinov2_with_registers_are_the_model_types_with_its_layout():
    from families.vision_layouts import types_with_the_layout_of

    registers = frozenset({"BASE.embeddings.register_tokens"})
    assert types_with_the_layout_of(family("dinov2")) == {"dinov2"}
    assert types_with_the_layout_of(family("dinov2"), registers) == set(DINOV2.model_types)
