"""ConvNeXt V2: ConvNeXt's layout with a global response normalization (GRN) in place of the layer scale,
``x + pw2(GRN(act(pw1(LN(dw(x))))))`` with ``GRN(h) = γ ⊙ (h ⊙ N(h)) + β + h``.

The library initializes ``γ = β = 0``, so GRN is the identity at init; IDInit keeps that (role ``norm``), and the
branch is IDInit's ConvNeXt branch without the layer scale: ``pwconv2``'s IDIZε cancels ``pwconv1``'s replicas, so
every block is an identity map. The library's own init is not (no layer scale of 1e-6 here).
"""

from transformers.models.convnextv2 import modeling_convnextv2 as convnextv2

from ..roles import Role, Slot
from .convnext import CONVNEXT, base_width, convnext_slots, total_depth
from .family import Family

CONVNEXT_V2 = Family(
    name="convnextv2",
    model_types=("convnextv2",),
    block=convnextv2.ConvNextV2Layer,
    norm_position="pre",
    slots=(
        *convnext_slots("ConvNextV2", convnextv2),
        Slot(convnextv2.ConvNextV2Layer, "grn", Role.NORM, params=("weight", "bias")),  # 0 / 0: the identity
    ),
    pretraining="AutoModelForImageClassification",
    # ConvNeXt's measured downsampling default (its flattened 2 x 2 IDICτ drops half the channels here too); not
    # measured on V2
    option_defaults=(("downsample", "default"),),
    example=CONVNEXT.example,
    scale=CONVNEXT.scale,
    fit=CONVNEXT.fit,
    dropout=CONVNEXT.dropout,
    branch_roles=(Role.MLP_IN, Role.MLP_OUT),
    depth_of=total_depth,
    width_of=base_width,
)
