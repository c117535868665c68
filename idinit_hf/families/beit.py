"""BEiT (pre-LN ViT with layer scale and mean pooling): ``x + λ₁ ⊙ attn(LN(x))``, then ``x + λ₂ ⊙ mlp(LN(x))``.

Layout (transformers 5.x, ``beit.``): ``embeddings.cls_token`` (and ``mask_token``, ``position_embeddings`` where the
config asks for them), ``embeddings.patch_embeddings.projection``; ``layers.N``: ``layernorm_before``,
``attention.{q,k,v,o}_proj`` (no key bias), ``lambda_1``, ``layernorm_after``, ``mlp.fc1/fc2``, ``lambda_2`` (the
config's ``layer_scale_init_value``, 0.1; absent when it is 0); ``pooler.layernorm`` on the mean patch token (or
``layernorm`` on the class token without mean pooling); ``classifier``. The masked-image-modeling head adds
``layernorm`` and ``lm_head``.

Under IDInit the branches' last layers (``o_proj``, ``fc2``) are IDIZε, so every block is an identity map whatever
the layer scale holds (``idinit_layer_scale``: the config's 0.1, or 1). The relative position bias tables
(``use_relative_position_bias``, ``use_shared_relative_position_bias``; off by default) add to the attention logits
and keep the library's zeros, outside any slot. Option defaults are ViT's (issue 12), not measured on BEiT.

Without a position table (BEiT's default, ``use_absolute_position_embeddings=False``) a flat patch (a blank background)
becomes, through the IDICτ patch embedding, a token whose entries are all equal, and BEiT's LayerNorm (eps 1e-12)
has a Jacobian of ~1e6 there: every block is still the identity in the forward pass, but its Jacobian at such a token
is ``I + O(ε·1e6)``, not ``I`` (``tests/families/test_beit.py``). The example config has a position table, which
makes every token distinct; ``idinit_patch_embedding="small"`` or ``"default"`` (a random stem) avoids it without one.
"""

from transformers.models.beit import modeling_beit as beit

from ..roles import Role, Slot
from ._blocks import NORM, attention_slots, mlp_slots, norm_slots
from .family import Family
from .vit import VIT

BEIT = Family(
    name="beit",
    model_types=("beit",),
    block=beit.BeitLayer,
    norm_position="pre",
    slots=(
        *attention_slots(beit.BeitAttention),
        *mlp_slots(beit.BeitMLP, "fc1", "fc2"),
        Slot(beit.BeitLayer, "", Role.LAYER_SCALE, params=("lambda_1", "lambda_2")),
        *norm_slots(beit.BeitLayer, "layernorm_before", "layernorm_after"),
        Slot(beit.BeitPatchEmbeddings, "projection", Role.PATCH_EMBEDDING),
        Slot(beit.BeitEmbeddings, "", Role.EMBEDDING, params=("cls_token", "position_embeddings")),
        Slot(beit.BeitModel, "layernorm", Role.NORM, params=NORM),
        Slot(beit.BeitPooler, "layernorm", Role.NORM, params=NORM),
        Slot(beit.BeitForImageClassification, "classifier", Role.HEAD),
        Slot(beit.BeitForMaskedImageModeling, "layernorm", Role.NORM, params=NORM),
        Slot(beit.BeitForMaskedImageModeling, "lm_head", Role.HEAD),
    ),
    pretraining="AutoModelForImageClassification",
    option_defaults=VIT.option_defaults,
    # with a position table (BEiT's default has none): see the module's docstring for what a flat patch does without
    example=dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, intermediate_size=64, image_size=8,
                 patch_size=2, num_channels=1, num_labels=10, use_absolute_position_embeddings=True),
    scale=VIT.scale,
    fit=VIT.fit,
    dropout=("hidden_dropout_prob", "attention_probs_dropout_prob", "drop_path_rate"),
)
