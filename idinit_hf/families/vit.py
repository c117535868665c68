"""ViT (pre-LN). In transformers 5.x the in-memory names are ``layers.N.attention.{q,k,v,o}_proj`` and
``mlp.fc1/fc2``; checkpoints keep the old names through transformers' conversion mapping."""

from transformers.models.vit import modeling_vit as vit

from ..roles import Role, Slot
from ._blocks import attention_slots, mlp_slots, norm_slots
from .family import Family


def _scale(depth: int, width: int) -> dict:
    """Heads of width 16, an MLP 4x as wide (ViT's ratio)."""
    return dict(num_hidden_layers=depth, hidden_size=width, num_attention_heads=max(1, width // 16),
                intermediate_size=4 * width)


def _fit(shape) -> dict:
    # 2x2 patches on 8x8 digits (16 patches), 4x4 on 28x28 Fashion-MNIST (49 patches)
    return dict(image_size=shape.image_size, patch_size=2 if shape.image_size <= 8 else 4,
                num_channels=shape.channels, num_labels=shape.classes)

VIT = Family(
    name="vit",
    model_types=("vit",),
    block=vit.ViTLayer,
    norm_position="pre",
    slots=(
        *attention_slots(vit.ViTAttention),
        *mlp_slots(vit.ViTMLP, "fc1", "fc2"),
        Slot(vit.ViTPatchEmbeddings, "projection", Role.PATCH_EMBEDDING),
        # The class token and position table are parameters of ViTEmbeddings itself; mask_token stays default.
        Slot(vit.ViTEmbeddings, "", Role.EMBEDDING, params=("cls_token", "position_embeddings")),
        *norm_slots(vit.ViTLayer, "layernorm_before", "layernorm_after"),
        *norm_slots(vit.ViTModel, "layernorm"),
        Slot(vit.ViTPooler, "dense", Role.POOLER),
        Slot(vit.ViTForImageClassification, "classifier", Role.HEAD),
        Slot(vit.ViTForMaskedImageModeling, "decoder.0", Role.HEAD),
    ),
    pretraining="AutoModelForImageClassification",
    # Issue 12 (docs/defaults.md). Q = 0 at init: with Q = K = I the class token attends mostly to itself (41% of
    # its attention over 50 tokens) and its final state, which the classifier reads, stays nearly the same for every
    # image for ~50 steps; with Q = 0 every token starts from uniform attention. IDIτ position table and class token:
    # the library's (std 0.02) is ~50x smaller than the IDICτ patch signal. Fashion-MNIST, 3 seeds, test loss:
    # 4 layers 0.802 (default init 1.048, IDInit with Q = I and library embeddings 0.913); 16 layers 0.881 (1.213,
    # 1.247), the default's final loss reached in ≤ 0.50 of the steps on every seed; trains at lr 3e-2 where Q = 0
    # alone stalled; the 200-step bf16 test learns on every seed.
    # SmallInit classifier (issue 19): the library's N(0, 0.02) head gives logits too small to move at width 64;
    # N(0, 2/(5d)) is GPT-NeoX's. 3 seeds, validation, better on every seed at 4 and 16 layers on both datasets:
    # digits 0.523 / 0.689 (library head 0.797 / 1.089), Fashion-MNIST 0.736 / 0.875 (0.896 / 0.996).
    # SmallInit query (issue 19): with Q = 0 every token, the class token too, reads the same mean of the values, so
    # the attention mixes nothing token-dependent until Q has grown, and Q's gradient flows through the ε-size output
    # projection; a random query attends differently per token and per head from step 0. 3 seeds, validation, better
    # than Q = 0 on every seed at 4 and 16 layers on both datasets (on the test split too): digits 0.257 / 0.271
    # (Q = 0: 0.523 / 0.689), Fashion-MNIST 0.557 / 0.652 (0.736 / 0.875; GPT-NeoX's init 0.855 at 16 layers).
    # query_scale stays 0: idinit_query="idi" gives back Q = 0.
    option_defaults=(("query", "small"), ("query_scale", 0.0), ("embeddings", "idi"), ("heads", "small")),
    example=dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, intermediate_size=64, image_size=8,
                 patch_size=2, num_channels=1, num_labels=10),
    scale=_scale,
    fit=_fit,
    dropout=("hidden_dropout_prob", "attention_probs_dropout_prob"),
)
