"""ViT (pre-LN). In transformers 5.x the in-memory names are ``layers.N.attention.{q,k,v,o}_proj`` and
``mlp.fc1/fc2``; checkpoints keep the old names through transformers' conversion mapping."""

from transformers.models.vit import modeling_vit as vit

from ..roles import Family, Role, Slot

_NORM = ("weight", "bias")

VIT = Family(
    name="vit",
    model_types=("vit",),
    block=vit.ViTLayer,
    norm_position="pre",
    slots=(
        *(Slot(vit.ViTAttention, name, Role.ATTENTION_IN) for name in ("q_proj", "k_proj", "v_proj")),
        Slot(vit.ViTAttention, "o_proj", Role.ATTENTION_OUT),
        Slot(vit.ViTMLP, "fc1", Role.MLP_IN),
        Slot(vit.ViTMLP, "fc2", Role.MLP_OUT),
        Slot(vit.ViTPatchEmbeddings, "projection", Role.PATCH_EMBEDDING),
        # The class token and position table are parameters of ViTEmbeddings itself; mask_token stays default.
        Slot(vit.ViTEmbeddings, "", Role.EMBEDDING, params=("cls_token", "position_embeddings")),
        Slot(vit.ViTLayer, "layernorm_before", Role.NORM, params=_NORM),
        Slot(vit.ViTLayer, "layernorm_after", Role.NORM, params=_NORM),
        Slot(vit.ViTModel, "layernorm", Role.NORM, params=_NORM),
        Slot(vit.ViTPooler, "dense", Role.POOLER),
        Slot(vit.ViTForImageClassification, "classifier", Role.HEAD),
        Slot(vit.ViTForMaskedImageModeling, "decoder.0", Role.HEAD),
    ),
    pretraining="AutoModelForImageClassification",
    example=dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, intermediate_size=64, image_size=8,
                 patch_size=2, num_channels=1, num_labels=10),
)
