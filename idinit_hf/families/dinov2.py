"""DINOv2 (pre-LN ViT with layer scale): ``x + λ₁ ⊙ attn(norm1(x))``, then ``x + λ₂ ⊙ mlp(norm2(x))``.

Layout (transformers 5.x, ``dinov2.``): ``embeddings.{cls_token, mask_token, position_embeddings}`` and
``embeddings.patch_embeddings.projection`` (``P x P`` stride-``P`` convolution); ``encoder.layer.N``: ``norm1``,
``attention.{q,k,v,o}_proj``, ``layer_scale1.lambda1``, ``norm2``, ``mlp.fc1/fc2`` (or, with ``use_swiglu_ffn``,
``mlp.gate_proj/up_proj/down_proj``: ``down(silu(gate(h)) · up(h))``), ``layer_scale2.lambda1``; ``layernorm``;
``classifier`` on the class token and the mean patch token (``2d → labels``).

The layer scales start at the config's ``layerscale_value`` (1.0: the identity gain, the same as IDIτ of a
diagonal), so under IDInit the branches' last layers (``o_proj``, ``fc2`` / ``down_proj``: IDIZε) keep every block
an identity map, as in ViT. DINOv2 with registers (``dinov2_with_registers``) has the same blocks and adds
``embeddings.register_tokens``, which keep the library's init (zeros; IDIτ rows would copy the class token's).

Option defaults are ViT's (issue 12: IDIτ class token and position table; issue 19: a SmallInit query and classifier),
whose reason holds unchanged here (a class token read by the classifier). The query was measured on DINOv2 too:
Fashion-MNIST, 3 seeds, validation 0.547 / 0.631 at 4 / 16 layers against Q = 0's 0.715 / 0.815 (docs/defaults.md).
"""

from ..roles import Role, Slot
from ._blocks import attention_slots, gated_mlp_slots, mlp_slots, norm_slots
from .family import Family
from .vit import VIT


def _scale(depth: int, width: int) -> dict:
    """Heads of width 16, an MLP 4x as wide (DINOv2's ``mlp_ratio``)."""
    return dict(num_hidden_layers=depth, hidden_size=width, num_attention_heads=max(1, width // 16), mlp_ratio=4)


DINOV2 = Family(
    name="dinov2",
    model_types=("dinov2", "dinov2_with_registers"),
    block="Layer",  # Dinov2Layer, Dinov2WithRegistersLayer (generated classes: matched by name)
    norm_position="pre",
    slots=(
        *attention_slots("Attention"),
        *mlp_slots("MLP", "fc1", "fc2"),
        *gated_mlp_slots("SwiGLUFFN"),
        Slot("LayerScale", "", Role.LAYER_SCALE, params=("lambda1",)),
        *norm_slots("Layer", "norm1", "norm2"),
        Slot("PatchEmbeddings", "projection", Role.PATCH_EMBEDDING),
        Slot("Embeddings", "", Role.EMBEDDING, params=("cls_token", "position_embeddings")),
        # the mask token and the registers keep the library's zeros
        Slot("Embeddings", "", Role.PLACEHOLDER_TOKEN, params=("mask_token", "register_tokens")),
        *norm_slots("Model", "layernorm"),
        Slot("ForImageClassification", "classifier", Role.HEAD),
    ),
    pretraining="AutoModelForImageClassification",
    option_defaults=VIT.option_defaults,
    example=dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, mlp_ratio=4, image_size=8,
                 patch_size=2, num_channels=1, num_labels=10),
    scale=_scale,
    fit=VIT.fit,
    dropout=("hidden_dropout_prob", "attention_probs_dropout_prob", "drop_path_rate"),
)
