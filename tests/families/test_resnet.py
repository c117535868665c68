"""The ResNet family, role by role: the stem, every convolution of the basic and bottleneck branches, the branch's
last unit (the paper's literal IDIZCε with γ = 1 by default; the norm's gain ε, or zero-γ), the projection shortcuts
("main stem");
every block an identity map at init as training sees it (batch statistics), and what holds for the blocks that change
width or resolution; ResNet is the only model type with this layout."""

import pytest
import torch
from helpers import EPS, family, inputs, tiny
from torch.nn import functional
from transformers.models.resnet import modeling_resnet as resnet

import idinit_hf
from idinit_hf.roles import Role

W = 16  # the example's stem and first stage width; the second stage is 2W


def build(depth=4, **options):
    return tiny("resnet", depth=depth, init_method="idinit", **options)


#: The positions of a 3 x 3 window nearest the centre first (ties in raster order), written out here.
CENTRED_3X3 = [(1, 1), (0, 1), (1, 0), (1, 2), (2, 1), (0, 0), (0, 2), (2, 0), (2, 2)]


def centred_idi(out_channels, in_channels):
    """IDICτ of a 3 x 3 kernel in the centred order: output m copies input m mod c_in at the (m // c_in)-th position
    (c_out ≤ 9·c_in here): the Dirac kernel for the first c_in outputs, then the input shifted to (0, 1), ..."""
    kernel = torch.zeros(out_channels, in_channels, 3, 3)
    for m in range(out_channels):
        kernel[(m, m % in_channels, *CENTRED_3X3[m // in_channels])] = 1.0
    return kernel


def centred_idiz(channels):
    """IDIZCε of a c x c x 3 x 3 kernel in the centred order: +ε at the centre of (m, m), −ε at (0, 1) of (m, m)."""
    kernel = torch.zeros(channels, channels, 3, 3)
    for m in range(channels):
        kernel[m, m, 1, 1], kernel[m, m, 0, 1] = EPS, -EPS
    return kernel


def flatten_idi(out_channels, in_channels, k):
    """IDIτ on the kernel's c_out x (c_in·k·k) view in PyTorch's order, built here by its formula (method.md §4)."""
    matrix = torch.zeros(out_channels, in_channels * k * k)
    for m in range(out_channels):
        matrix[m, m % (in_channels * k * k)] = 1.0
    return matrix.view(out_channels, in_channels, k, k)


def basic_layers(model):
    return [m for m in model.modules() if isinstance(m, resnet.ResNetBasicLayer)]


def test_branch_convolutions_are_centred_idic_the_last_idizc_and_every_norm_gain_one():
    """The family's defaults: the centred order, the paper's literal rule on the branch's last unit (IDIZCε
    convolution, batch norm 1 / 0), every other batch norm 1 / 0. The second stage's first convolution widens W → 2W:
    the identity, then the input at (0, 1)."""
    layers = basic_layers(build())
    widths = [tuple(layer.layer[0].convolution.weight.shape[:2]) for layer in layers]
    assert widths == [(W, W), (W, W), (2 * W, W), (2 * W, 2 * W)]
    for layer in layers:
        first, last = layer.layer
        c_out, c_in = first.convolution.weight.shape[:2]
        assert torch.equal(first.convolution.weight.detach(), centred_idi(c_out, c_in))
        assert torch.equal(last.convolution.weight.detach(), centred_idiz(c_out))
        for unit in (first, last):
            assert torch.equal(unit.normalization.weight.detach(), torch.ones(c_out))
            assert torch.equal(unit.normalization.bias.detach(), torch.zeros(c_out))


def test_the_flatten_order_when_asked():
    """method.md's first reading: output m copies input channel m // 9 at window position m mod 9."""
    for layer in basic_layers(build(idinit_conv="flatten")):
        first = layer.layer[0].convolution.weight.detach()
        assert torch.equal(first, flatten_idi(*first.shape[:2], 3))


def test_the_norm_gain_is_the_zero_preserving_element_when_asked():
    for layer in basic_layers(build(idinit_branch_norm="idiz", idinit_normed_out="idi")):
        first, last = layer.layer
        c_out = first.convolution.weight.shape[0]
        assert torch.equal(last.convolution.weight.detach(), centred_idi(c_out, c_out))  # idinit_normed_out: IDICτ
        assert torch.equal(first.normalization.weight.detach(), torch.ones(c_out))  # inner norms: the library's 1 / 0
        assert torch.equal(last.normalization.weight.detach(), torch.full((c_out,), EPS))  # the zero-preserving gain
        assert torch.equal(last.normalization.bias.detach(), torch.zeros(c_out))


def test_the_stem_is_the_library_default_or_idic_and_the_classifier_the_library_default():
    model = build()
    stem = model.resnet.embedder.embedder.convolution.weight.detach()  # kaiming normal, fan_out: sqrt(2 / (W·49))
    assert abs(float(stem.std()) / (2 / (W * 49)) ** 0.5 - 1) < 0.3
    head = model.classifier[1].weight.detach()  # the library's kaiming uniform: U(±1/sqrt(fan_in)), fan_in = 2W
    assert float(head.abs().max()) <= (2 * W) ** -0.5 and 0.05 < float(head.std()) < 0.15
    assert idinit_hf.verify(model).ok
    idic = build(idinit_patch_embedding="idic").resnet.embedder.embedder.convolution.weight.detach()
    window = sorted(((r, c) for r in range(7) for c in range(7)), key=lambda p: ((p[0] - 3) ** 2 + (p[1] - 3) ** 2, p))
    want = torch.zeros(W, 1, 7, 7)  # centred: the centre pixel, then its 15 nearest neighbours, one per channel
    for m in range(W):
        want[(m, 0, *window[m])] = 1.0
    assert torch.equal(idic, want)


def test_projection_shortcuts_are_strided_identities_replicated_where_the_width_doubles():
    shortcuts = [m for m in build().modules() if isinstance(m, resnet.ResNetShortCut)]
    assert len(shortcuts) == 1  # the second stage's first layer (W → 2W, stride 2)
    weight = shortcuts[0].convolution.weight.detach().view(2 * W, W)
    assert torch.equal(weight.round(decimals=4), torch.eye(W).repeat(2, 1))  # loosened replicas
    assert not torch.equal(weight[:W], weight[W:])
    assert torch.equal(shortcuts[0].normalization.weight.detach(), torch.ones(2 * W))


def test_shortcuts_keep_the_library_init_when_asked():
    shortcut = next(m for m in build(idinit_downsample="default").modules() if isinstance(m, resnet.ResNetShortCut))
    assert float(shortcut.convolution.weight.detach().std()) > 0.1  # kaiming normal, fan_out: std sqrt(2/32) = 0.25


@pytest.mark.parametrize("options, gain", [({}, 1.0), ({"idinit_branch_norm": "idiz"}, EPS)])
def test_bottleneck_layers_end_in_the_last_unit_of_the_rule(options, gain):
    model = build(layer_type="bottleneck", **options)
    layers = [m for m in model.modules() if isinstance(m, resnet.ResNetBottleNeckLayer)]
    assert len(layers) == 4
    for layer in layers:
        reduce, middle, expand = layer.layer
        assert reduce.convolution.kernel_size == (1, 1) and expand.convolution.kernel_size == (1, 1)
        assert torch.equal(expand.normalization.weight.detach(), torch.full_like(expand.normalization.weight, gain))
        assert torch.equal(middle.normalization.weight.detach(), torch.ones_like(middle.normalization.weight))
    assert idinit_hf.verify(model).ok


def test_zero_gamma_is_the_gain_rule_with_epsilon_zero():
    for layer in basic_layers(build(idinit_branch_norm="idiz", idinit_normed_out="idi", idinit_epsilon=0.0)):
        assert not layer.layer[1].normalization.weight.any()


def identity_errors(model, batch_statistics):
    report = idinit_hf.identity_report(model, inputs("resnet", batch=16), batch_statistics=batch_statistics)
    return report


GAIN_RULE = {"idinit_branch_norm": "idiz", "idinit_normed_out": "idi"}


@pytest.mark.parametrize("batch_statistics", [False, True])
@pytest.mark.parametrize("options", [GAIN_RULE, {**GAIN_RULE, "idinit_conv": "centred"},
                                     {**GAIN_RULE, "layer_type": "bottleneck"}])
def test_with_the_gain_rule_blocks_that_keep_their_width_are_identity_maps(options, batch_statistics):
    """Eval mode (running statistics) and as training sees it (batch statistics): relu(x + γ·BN(…)) with γ = ε is
    x up to ~ε, since x ≥ 0 (it comes out of a ReLU or the max pool)."""
    report = identity_errors(build(**options), batch_statistics)
    kept = [b for b in report.blocks if b.identity_error == b.identity_error]  # NaN: the block changes width
    assert len(kept) == 3 and report.max_identity_error() < 1e-5 and report.max_branch() < 1e-5


@pytest.mark.parametrize("options", [{}, {"idinit_conv": "centred"}, {"layer_type": "bottleneck"}])
def test_with_the_papers_rule_blocks_are_identity_maps_and_training_sees_epsilon_over_root_eps(options):
    """The family's default (γ = 1, IDIZCε last convolution): in eval mode the branch is ε-sized; a batch norm in
    training normalizes it by the batch, so the ε-sized output over sqrt(var + 1e-5) comes out at ~1e-4 of x."""
    model = build(**options)
    report = identity_errors(model, False)
    assert len([b for b in report.blocks if b.identity_error == b.identity_error]) == 3
    assert report.max_identity_error() < 1e-5 and report.max_branch() < 1e-5
    training = identity_errors(model, True)
    assert training.max_identity_error() < 1e-3 and training.max_branch() < 1e-3


@torch.no_grad()
def test_blocks_that_change_width_map_x_to_their_shortcut():
    """What holds instead of the identity for a block that changes width or stride: block(x) = relu(shortcut(x))
    up to ε, the shortcut a strided 1 x 1 IDICτ (replicated channels) and a batch norm."""
    model = build().eval()
    layer = model.resnet.encoder.stages[1].layers[0]
    seen = {}
    layer.register_forward_hook(lambda module, args, out: seen.update(x=args[0], y=out))
    model(**inputs("resnet", batch=16))
    want = functional.relu(layer.shortcut(seen["x"]))
    assert float((seen["y"] - want).norm() / want.norm()) < 1e-5


def test_the_jacobian_of_every_block_is_measured_those_that_change_width_rectangular():
    """ReLU after the add: where the block's input is 0 (after a ReLU) its Jacobian is 0 too, so σ min is 0 under
    either init; σ max of a width-keeping block under IDInit is 1 (the branch ≈ 0)."""
    reports = idinit_hf.jacobian_spectrum(build(), inputs("resnet", batch=2))
    assert len(reports) == 4 and all(r.sigma_max == r.sigma_max for r in reports)  # the strided block included
    assert abs(reports[1].sigma_max - 1) < 1e-3 and abs(reports[3].sigma_max - 1) < 1e-3


def test_every_block_holds_its_roles_and_every_block_weight_has_a_slot():
    model = build(layer_type="bottleneck")
    report = idinit_hf.verify(model)
    assert report.ok
    # by module: a batch norm's bias is listed with its gain only where the rule writes the gain (ε): bias 0 with it
    tagged = {layer.name.rpartition(".")[0] for layer in report.layers}
    inside = {f"{path}.{name}".rpartition(".")[0] for path, block in model.named_modules()
              if family("resnet").is_block(block) for name, _ in block.named_parameters()}
    assert inside <= tagged
    for role in (Role.MLP_IN, Role.MLP_OUT, Role.MLP_OUT_NORM, Role.DOWNSAMPLE, Role.PATCH_EMBEDDING):
        assert report.by_role(role), role


@pytest.mark.slow
def test_resnet_is_the_only_model_type_with_its_layout():
    from families.vision_layouts import types_with_the_layout_of

    assert types_with_the_layout_of(family("resnet")) == set(family("resnet").model_types)
