"""The BEiT family, role by role: ViT's rules with layer scales (the config's 0.1, or 1), mean pooling, the masked
image modeling head; every block an identity map at init; and what a flat patch does without a position table."""

import pytest
import torch
from helpers import assert_small_init, attention_out_pattern, eye, family, inputs, mlp_out_pattern
from transformers.models.beit import modeling_beit as beit

import idinit_hf
from idinit_hf.families import BEIT

D = 16


def build(cls=idinit_hf.IDInitBeitForImageClassification, **options):
    return cls._from_config(BEIT.example_config(init_method="idinit", **options))


def test_attention_mlp_and_layer_scales():
    for layer in [m for m in build().modules() if isinstance(m, beit.BeitLayer)]:
        assert_small_init(layer.attention.q_proj.weight)  # ViT's default: a SmallInit query
        assert torch.equal(layer.attention.v_proj.weight.detach(), eye(D)) and layer.attention.k_proj.bias is None
        assert torch.equal(layer.attention.o_proj.weight.detach(), attention_out_pattern(D))
        assert torch.equal(layer.mlp.fc2.weight.detach(), mlp_out_pattern(D, 4 * D))
        assert torch.equal(layer.lambda_1.detach(), torch.full((D,), 0.1))
    for layer in [m for m in build(idinit_layer_scale="idi").modules() if isinstance(m, beit.BeitLayer)]:
        assert torch.equal(layer.lambda_2.detach(), torch.ones(D))


def test_masked_image_modeling_head_is_a_head():
    """No Auto class lists BEiT's masked image modeling model (so no IDInit class either): apply_ reaches it."""
    model = idinit_hf.apply_(beit.BeitForMaskedImageModeling(BEIT.example_config()), heads="zero")
    assert not model.lm_head.weight.any() and idinit_hf.verify(model).ok
    assert torch.equal(model.beit.layers[0].attention.o_proj.weight.detach(), attention_out_pattern(D))


@pytest.mark.parametrize("options", [{}, {"layer_scale_init_value": 0.0}, {"use_mean_pooling": False}])
def test_every_block_is_exact_and_an_identity_at_init(options):
    model = build(**options)
    report = idinit_hf.verify(model)
    assert report.ok
    tagged = {layer.name for layer in report.layers}
    inside = {f"{path}.{p}" for path, block in model.named_modules() if BEIT.is_block(block)
              for p, _ in block.named_parameters()}
    assert inside <= tagged
    identity = idinit_hf.identity_report(model, inputs("beit"))
    assert identity.max_identity_error() < 1e-5 and identity.max_branch() < 1e-5


@pytest.mark.parametrize("random_stem", ["small", "default"])
def test_without_a_position_table_a_flat_patch_makes_the_block_jacobian_depart_from_the_identity(random_stem):
    """A blank 2 x 2 patch through an IDICτ patch embedding is a token of equal entries; BEiT's LayerNorm (eps 1e-12)
    has a Jacobian of ~1e6 there, so ε-sized branch weights give an O(1) departure. The forward pass is still the
    identity. A random patch embedding (SmallInit, or the library's) does not make such tokens."""
    model = build(use_absolute_position_embeddings=False)
    assert idinit_hf.identity_report(model, inputs("beit")).max_identity_error() < 1e-5
    spread = max(abs(b.sigma_min - 1) for b in idinit_hf.jacobian_spectrum(model, inputs("beit"), max_tokens=8))
    assert spread > 1e-3
    fixed = build(use_absolute_position_embeddings=False, idinit_patch_embedding=random_stem)
    assert max(abs(b.sigma_min - 1) for b in idinit_hf.jacobian_spectrum(fixed, inputs("beit"), max_tokens=8)) < 1e-3


@pytest.mark.slow
def test_beit_is_the_only_model_type_with_its_layout():
    from families.vision_layouts import types_with_the_layout_of

    assert types_with_the_layout_of(family("beit")) == set(BEIT.model_types)
