"""BERT's projections in a pre-LN block: Megatron-BERT, RoBERTa-PreLayerNorm, XLM-RoBERTa-XL and ESM.

Block: ``h = x + attention.output.dense(attn(LN₁(x)))``, ``out = h + output.dense(act(intermediate.dense(LN₂(h))))``
and one LayerNorm after the last block, so IDIZε on the two ``dense`` layers that end the branches makes every block
the identity at init (BERT's post-LN blocks become ``x → LN(x)`` instead). The projections, embeddings and heads are
found by BERT's table renamed by class-name suffix (:data:`idinit_hf.families.roberta.BERT_LAYOUT`, whose post-branch
LayerNorm slots find nothing here) and the siblings' heads; the norms sit where each model puts them:

============================  ==========================  ==========================  ==========================
model type                    before attention            before the MLP              after the last block
============================  ==========================  ==========================  ==========================
``megatron-bert``             ``attention.ln``            ``ln`` (of the layer)       ``encoder.ln``
``roberta-prelayernorm``      ``attention.LayerNorm``     ``intermediate.LayerNorm``  ``LayerNorm`` (of the model)
``xlm-roberta-xl``            ``attention.self_attn_la…`` ``LayerNorm`` (of the layer) ``encoder.LayerNorm``
``esm``                       ``attention.LayerNorm``     ``LayerNorm`` (of the layer) ``encoder.emb_layer_norm_after``
============================  ==========================  ==========================  ==========================

``tests/families/test_bert_prenorm.py::test_every_pre_ln_bert_layout_model_type_is_covered`` finds every masked-LM type
whose blocks hold BERT's projections and two LayerNorms none of which follows a branch, and checks this list.
"""

from ..roles import ClassName, Role, Slot
from .family import Family
from .roberta import BERT_LAYOUT, ROBERTA, SIBLING_EXTRAS

_NORM = ("weight", "bias")

PRE_LN_NORMS = tuple(
    Slot(ClassName(owner), path, Role.NORM, params=_NORM) for owner, path in (
        ("Attention", "ln"), ("Layer", "ln"), ("Encoder", "ln"),  # Megatron-BERT
        ("Attention", "LayerNorm"), ("Intermediate", "LayerNorm"), ("Model", "LayerNorm"),  # RoBERTa-PreLayerNorm
        ("Attention", "self_attn_layer_norm"), ("Layer", "LayerNorm"), ("Encoder", "LayerNorm"),  # XLM-RoBERTa-XL
        ("Encoder", "emb_layer_norm_after"), ("Embeddings", "layer_norm"),  # ESM
    )
)

#: Pre-LN model types whose positions start after the [PAD] id (see :data:`idinit_hf.families.roberta.POSITIONS_AFTER_PAD`).
POSITIONS_AFTER_PAD = ("roberta-prelayernorm", "xlm-roberta-xl", "esm")


def context_length(config) -> int:
    offset = config.pad_token_id + 1 if config.model_type in POSITIONS_AFTER_PAD else 0
    return int(config.max_position_embeddings) - offset


BERT_PRENORM = Family(
    name="bert_prenorm",
    model_types=("megatron-bert", "roberta-prelayernorm", "xlm-roberta-xl", "esm"),
    block=ClassName("Layer"),
    norm_position="pre",
    slots=(*BERT_LAYOUT, *SIBLING_EXTRAS, *PRE_LN_NORMS,
           Slot(ClassName("ContactPredictionHead"), "regression", Role.HEAD)),  # ESM's contact map
    pretraining="AutoModelForMaskedLM",
    example=ROBERTA.example,
    scale=ROBERTA.scale,
    fit=ROBERTA.fit,
    dropout=ROBERTA.dropout,
    option_defaults=ROBERTA.option_defaults,
    context_length=context_length,
)
