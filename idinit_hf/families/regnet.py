"""RegNet (X and Y layers): ResNet's layout with a grouped 3 x 3 convolution and, in Y layers, squeeze-and-excitation.

Layout (transformers 5.x, ``regnet.``): the stem ``embedder.embedder.{convolution, normalization}`` (3 x 3 stride 2);
per stage ``encoder.stages.S.layers.N``: ``layer.0`` (1 x 1), ``layer.1`` (3 x 3 grouped, ``width / groups_width``
groups, stride 2 in a stage's first layer), in Y layers ``layer.2.attention.{0,2}`` (squeeze-and-excitation: two
1 x 1 convolutions with biases on the pooled input, a ReLU between them, a sigmoid gate on the branch), then the last
1 x 1 unit (``layer.2`` in X layers, ``layer.3`` in Y layers); ``shortcut.{convolution, normalization}`` where the
layer changes width or stride; ``classifier.1``. Each ``layer.I`` is a convolution + batch norm unit as in ResNet.

IDInit as in ResNet (``families/resnet.py``): IDICτ on every convolution inside the branch, the grouped one per group
(in the ``centred`` order a per-channel identity when a group's inputs and outputs match), the squeeze-and-excitation
convolutions IDIτ as every inner layer of a branch (the gate is then ``sigmoid(relu(mean x))`` per channel, replicated
where it widens, in (0.5, 1)), the branch's last unit as ResNet's (IDIZCε and γ = 1 by default), the projection
shortcut IDICτ. Not benchmarked: RegNet shares ResNet's measured defaults.
"""

from transformers.models.regnet import modeling_regnet as regnet

from ..roles import Role, Slot
from .convnext import base_width, stage_depths, total_depth
from .family import Family
from .resnet import RESNET, conv_layer_slots


def _scale(depth: int, width: int) -> dict:
    """Y layers (squeeze-and-excitation) over two stages of widths ``width`` and ``2·width`` with groups of 8 channels
    (2 and 4 groups at width 16), the stem as wide as the first stage."""
    depths = stage_depths(depth)
    return dict(layer_type="y", embedding_size=width, depths=depths, groups_width=8,
                hidden_sizes=[width * 2**i for i in range(len(depths))])


REGNET = Family(
    name="regnet",
    model_types=("regnet",),
    block=(regnet.RegNetXLayer, regnet.RegNetYLayer),
    norm_position="post",
    after_add="relu",  # relu(x + f(x))
    slots=(
        *conv_layer_slots(regnet.RegNetEmbeddings, "embedder", Role.PATCH_EMBEDDING),
        *conv_layer_slots(regnet.RegNetXLayer, "layer.0", Role.MLP_IN),
        *conv_layer_slots(regnet.RegNetXLayer, "layer.1", Role.MLP_IN),
        *conv_layer_slots(regnet.RegNetXLayer, "layer.2", Role.MLP_OUT),
        *conv_layer_slots(regnet.RegNetYLayer, "layer.0", Role.MLP_IN),
        *conv_layer_slots(regnet.RegNetYLayer, "layer.1", Role.MLP_IN),
        Slot(regnet.RegNetSELayer, "attention.0", Role.MLP_IN),
        Slot(regnet.RegNetSELayer, "attention.2", Role.MLP_IN),
        *conv_layer_slots(regnet.RegNetYLayer, "layer.3", Role.MLP_OUT),
        Slot(regnet.RegNetShortCut, "convolution", Role.DOWNSAMPLE),
        Slot(regnet.RegNetShortCut, "normalization", Role.NORM, params=("weight", "bias")),
        Slot(regnet.RegNetForImageClassification, "classifier.1", Role.HEAD),
    ),
    pretraining="AutoModelForImageClassification",
    option_defaults=RESNET.option_defaults,
    example=dict(layer_type="y", embedding_size=16, depths=[1, 1], hidden_sizes=[16, 32], groups_width=8,
                 num_channels=1, num_labels=10),
    scale=_scale,
    fit=RESNET.fit,
    branch_roles=(Role.MLP_IN, Role.MLP_OUT),
    depth_of=total_depth,
    width_of=base_width,
)
