"""The RegNet family (X and Y layers), role by role: the grouped 3 x 3 convolution per group, squeeze-and-excitation
as inner layers of the branch, the branch's last batch-norm gain, the projection shortcuts; every block that keeps
its width an identity map at init; RegNet is the only model type with its layout."""

import pytest
import torch
from helpers import EPS, family, inputs, tiny
from transformers.models.regnet import modeling_regnet as regnet

import idinit_hf

W, GROUP = 16, 8  # the example's first stage width and channels per group


def build(depth=4, **options):
    return tiny("regnet", depth=depth, init_method="idinit", **options)


def y_layers(model):
    return [m for m in model.modules() if isinstance(m, regnet.RegNetYLayer)]


def test_the_grouped_convolution_is_a_per_group_identity_in_the_centred_order():
    for layer in y_layers(build(idinit_conv="centred")):
        grouped = layer.layer[1].convolution
        c = grouped.weight.shape[0]
        assert grouped.groups == c // GROUP and grouped.weight.shape[1] == GROUP
        want = torch.zeros(c, GROUP, 3, 3)
        want[torch.arange(c), torch.arange(c) % GROUP, 1, 1] = 1.0
        assert torch.equal(grouped.weight.detach(), want)


def test_squeeze_and_excitation_convolutions_are_idi_with_zero_biases():
    for layer in y_layers(build()):
        squeeze, excite = layer.layer[2].attention[0], layer.layer[2].attention[2]
        r, c = squeeze.weight.shape[:2]
        assert torch.equal(squeeze.weight.detach().view(r, c), torch.eye(r, c))  # partial identity (r < c)
        assert torch.equal(excite.weight.detach().view(c, r).round(decimals=4), torch.eye(r).repeat(c // r, 1))
        assert not squeeze.bias.any() and not excite.bias.any()


@pytest.mark.parametrize("options, gain", [({}, 1.0), ({"layer_type": "x"}, 1.0), ({"idinit_branch_norm": "idiz"}, EPS)])
def test_the_last_unit_is_resnets_in_x_and_y_layers(options, gain):
    model = build(**options)
    for layer in [m for m in model.modules() if family("regnet").is_block(m)]:
        last = layer.layer[-1]
        c = last.convolution.weight.shape[0]
        assert torch.equal(last.normalization.weight.detach(), torch.full_like(last.normalization.weight, gain))
        if gain == 1.0:  # IDIZCε on the 1 x 1 c x c convolution: +ε on m, −ε on m + 1
            assert torch.equal(last.convolution.weight.detach().view(c, c), EPS * (torch.eye(c) - torch.eye(c).roll(1, 1)))
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("layer_type", ["x", "y"])
@pytest.mark.parametrize("batch_statistics", [False, True])
def test_blocks_that_keep_their_width_are_identity_maps(layer_type, batch_statistics):
    report = idinit_hf.identity_report(build(layer_type=layer_type), inputs("regnet", batch=16),
                                       batch_statistics=batch_statistics)
    kept = [b for b in report.blocks if b.identity_error == b.identity_error]
    # the first layer of each stage has a stride; in training the batch norm returns the ε-sized IDIZCε output at ~1e-4
    assert len(kept) == 2 and report.max_identity_error() < (1e-3 if batch_statistics else 1e-5)


def test_every_block_weight_has_a_slot():
    model = build()
    # by module: a batch norm's bias is listed with its gain only where the rule writes the gain (ε): bias 0 with it
    tagged = {layer.name.rpartition(".")[0] for layer in idinit_hf.verify(model).layers}
    inside = {f"{path}.{p}".rpartition(".")[0] for path, block in model.named_modules()
              if family("regnet").is_block(block) for p, _ in block.named_parameters()}
    assert inside <= tagged


@pytest.mark.slow
def test_regnet_is_the_only_model_type_with_its_layout():
    from families.vision_layouts import types_with_the_layout_of

    assert types_with_the_layout_of(family("regnet")) == set(family("regnet").model_types)
