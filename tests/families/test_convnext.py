"""The ConvNeXt families (ConvNeXt, ConvNeXt V2), role by role: the depthwise convolution (IDICτ: per-channel Dirac
kernels in the centred order), the pointwise MLP (IDIτ loosened, IDIZε), the layer scale (the config's 1e-6, or 1) or
V2's global response normalization (0 / 0: the identity), the patchifying stem and the downsampling convolutions;
every block an identity map at init on real images; each is the only model type with its layout."""

import pytest
import torch
from helpers import EPS, assert_loosened_identity, family, inputs, mlp_out_pattern, tiny
from transformers.models.convnext import modeling_convnext as convnext
from transformers.models.convnextv2 import modeling_convnextv2 as convnextv2

import idinit_hf

W = 16
LAYERS = {"convnext": convnext.ConvNextLayer, "convnextv2": convnextv2.ConvNextV2Layer}


def build(name="convnext", depth=4, **options):
    return tiny(name, depth=depth, init_method="idinit", **options)


def layers(model):
    return [m for m in model.modules() if isinstance(m, tuple(LAYERS.values()))]


@pytest.mark.parametrize("name", LAYERS)
def test_pointwise_mlp_is_a_loosened_identity_and_idiz(name):
    for layer in layers(build(name)):
        d = layer.pwconv2.weight.shape[0]
        assert_loosened_identity(layer.pwconv1.weight.detach())  # 4d x d: four stacked identities
        assert torch.equal(layer.pwconv2.weight.detach(), mlp_out_pattern(d, 4 * d))  # [εI, −εI, 0, 0]
        assert not layer.pwconv1.bias.any() and not layer.pwconv2.bias.any()


@pytest.mark.parametrize("name", LAYERS)
def test_centred_depthwise_kernels_are_per_channel_dirac_kernels(name):
    for layer in layers(build(name, idinit_conv="centred")):
        d = layer.dwconv.weight.shape[0]
        want = torch.zeros(d, 1, 7, 7)
        want[:, 0, 3, 3] = 1.0
        assert torch.equal(layer.dwconv.weight.detach(), want) and not layer.dwconv.bias.any()


def test_flattened_depthwise_kernels_shift_each_channel_by_its_own_offset():
    """The flatten reading on a d x 1 x 7 x 7 kernel: channel m copies its input at window position m mod 49."""
    for layer in layers(build()):
        d = layer.dwconv.weight.shape[0]
        want = torch.zeros(d, 49)
        want[torch.arange(d), torch.arange(d) % 49] = 1.0
        assert torch.equal(layer.dwconv.weight.detach().view(d, 49), want)


def test_the_layer_scale_is_one_or_the_configs_value():
    """ConvNeXt's measured default: IDIτ of the diagonal (1), the branch's ε in pwconv2 alone."""
    for layer in layers(build()):
        assert torch.equal(layer.layer_scale_parameter.detach(), torch.ones_like(layer.layer_scale_parameter))
    for layer in layers(build(idinit_layer_scale="default")):
        assert torch.equal(layer.layer_scale_parameter.detach(), torch.full_like(layer.layer_scale_parameter, 1e-6))


def test_v2_global_response_normalization_keeps_the_identity():
    for layer in layers(build("convnextv2")):
        assert not layer.grn.weight.any() and not layer.grn.bias.any()


def test_the_downsampling_convolution_keeps_the_library_init_by_default():
    kernel = build().convnext.encoder.stages[1].downsampling_layer[1].weight.detach()
    assert 0.01 < float(kernel.std()) < 0.03  # the library's normal(0, 0.02)


@pytest.mark.parametrize("conv, second_half", [("flatten", None), ("centred", (0, 1))])
def test_the_downsampling_convolution_is_idic_when_asked(conv, second_half):
    """W → 2W, 2 x 2 stride 2. Centred: the first W outputs copy each input at the centre (1, 1) of the window, the
    next W at (0, 1): every channel kept, two pixels of each patch. Flatten: output m reads channel m // 4 at position
    m mod 4: only the first W / 2 input channels survive (why the library's init won, docs/defaults.md)."""
    stage = build(idinit_conv=conv, idinit_downsample="idic").convnext.encoder.stages[1]
    kernel = stage.downsampling_layer[1].weight.detach()
    assert kernel.shape == (2 * W, W, 2, 2)
    if second_half is None:
        assert torch.equal(kernel.abs().sum((0, 2, 3)) > 0, torch.arange(W) < W // 2)
    else:
        for m in range(2 * W):
            want = torch.zeros(W, 2, 2)
            row, column = (1, 1) if m < W else second_half
            want[m % W, row, column] = 1.0
            assert torch.equal(kernel[m].round(decimals=4), want), m


def test_the_stem_is_a_patch_embedding():
    model = build()
    stem = model.convnext.embeddings.patch_embeddings.weight.detach()  # W x 1 x 2 x 2: 4 pixels, 4 replicas
    assert_loosened_identity(stem.view(W, 4))
    default = build(idinit_patch_embedding="default").convnext.embeddings.patch_embeddings.weight
    assert 0.01 < float(default.std()) < 0.03  # the library's normal(0, 0.02)


@pytest.mark.parametrize("name", LAYERS)
def test_every_block_is_an_identity_map_and_every_block_weight_has_a_slot(name):
    model = build(name)
    report = idinit_hf.verify(model)
    assert report.ok
    tagged = {layer.name for layer in report.layers}
    inside = {f"{path}.{p}" for path, block in model.named_modules() if family(name).is_block(block)
              for p, _ in block.named_parameters()}
    assert inside <= tagged
    identity = idinit_hf.identity_report(model, inputs(name))
    assert len(identity.blocks) == 4 and identity.max_identity_error() < 1e-6 and identity.max_branch() < 1e-6


def test_v2_shares_the_downsampling_default():
    kernel = build("convnextv2").convnextv2.encoder.stages[1].downsampling_layer[1].weight.detach()
    assert 0.01 < float(kernel.std()) < 0.03


def test_the_library_init_of_v2_is_not_an_identity_unlike_v1():
    assert idinit_hf.identity_report(tiny("convnextv2", depth=4), inputs("convnextv2")).max_identity_error() > 1e-2
    assert idinit_hf.identity_report(tiny("convnext", depth=4), inputs("convnext")).max_identity_error() < EPS


@pytest.mark.slow
@pytest.mark.parametrize("name", LAYERS)
def test_each_convnext_layout_has_exactly_one_model_type(name):
    from families.vision_layouts import types_with_the_layout_of

    assert types_with_the_layout_of(family(name)) == set(family(name).model_types)
