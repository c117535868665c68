"""DeBERTa-v2 (and v3's configs): BERT's post-LN block with disentangled relative attention.

Block: ``h = LN(x + attention.output.dense(attn(x)))``, ``out = LN(h + output.dense(act(intermediate.dense(h))))``, so
IDIZε on the two ``dense`` layers that end the branches makes every block ``x → LN(x)``, as BERT's. The attention adds
to the content score ``q_i · k_j`` the disentangled position scores ``q_i · pk(δ)`` (c2p) and ``k_j · pq(δ)`` (p2c),
where ``pk``, ``pq`` project the (layer-normed) table of relative-position embeddings ``encoder.rel_embeddings``
(one row per relative-position bucket ``δ``): with ``share_att_key`` (v3) through the block's own ``key_proj`` /
``query_proj``, else through ``pos_key_proj`` / ``pos_query_proj``. Two open choices, each an option decided by the
benchmark (docs/defaults.md): the table's rule (``idinit_relative_positions``) and the position projections'
(``idinit_position_projections``). The optional convolution branch after the first block (``conv_kernel_size > 0``:
``LN(h + act(conv(embeddings)))``) ends in IDIZCε, so it too starts ≈ 0.

The example and the benchmark use DeBERTa-v3's settings (``relative_attention``, ``pos_att_type = p2c|c2p``,
``share_att_key``, log-bucketed positions, a LayerNorm on the table, no absolute positions), the bucket count half
the context as v3's 256 for 512 tokens; the config class's own defaults (no relative attention) are covered too.
"""

from transformers.models.deberta_v2 import modeling_deberta_v2 as deberta

from ..roles import Role, Slot
from ._blocks import NORM, attention_slots
from .family import Family


def _scale(depth: int, width: int) -> dict:
    """Heads of width 16, an MLP 4x as wide (DeBERTa's ratio)."""
    return dict(num_hidden_layers=depth, hidden_size=width, num_attention_heads=max(1, width // 16),
                intermediate_size=4 * width, pooler_hidden_size=width)


def _fit(shape) -> dict:
    # relative positions: |δ| < length / 4 exact, log buckets up to the context (v3: 256 buckets for 512 tokens)
    return dict(vocab_size=shape.vocab_size, max_position_embeddings=shape.length, pad_token_id=shape.pad_id,
                position_buckets=max(2, shape.length // 2))


DEBERTA_V2 = Family(
    name="deberta_v2",
    model_types=("deberta-v2",),
    block=deberta.DebertaV2Layer,
    norm_position="post",
    slots=(
        *attention_slots(deberta.DisentangledSelfAttention, q="query_proj", k="key_proj", v="value_proj", out=None),
        Slot(deberta.DisentangledSelfAttention, "pos_key_proj", Role.POSITION_PROJECTION),
        Slot(deberta.DisentangledSelfAttention, "pos_query_proj", Role.POSITION_PROJECTION),
        Slot(deberta.DebertaV2SelfOutput, "dense", Role.ATTENTION_OUT),
        Slot(deberta.DebertaV2SelfOutput, "LayerNorm", Role.NORM, params=NORM),
        Slot(deberta.DebertaV2Intermediate, "dense", Role.MLP_IN),
        Slot(deberta.DebertaV2Output, "dense", Role.MLP_OUT),
        Slot(deberta.DebertaV2Output, "LayerNorm", Role.NORM, params=NORM),
        Slot(deberta.DebertaV2Embeddings, "word_embeddings", Role.EMBEDDING, token_table=True),
        Slot(deberta.DebertaV2Embeddings, "position_embeddings", Role.EMBEDDING),
        Slot(deberta.DebertaV2Embeddings, "token_type_embeddings", Role.EMBEDDING),
        Slot(deberta.DebertaV2Embeddings, "embed_proj", Role.EMBEDDING_PROJECTION),
        Slot(deberta.DebertaV2Embeddings, "LayerNorm", Role.NORM, params=NORM),
        Slot(deberta.DebertaV2Encoder, "rel_embeddings", Role.RELATIVE_POSITION),
        Slot(deberta.DebertaV2Encoder, "LayerNorm", Role.NORM, params=NORM),
        Slot(deberta.ConvLayer, "conv", Role.BRANCH_OUT),
        Slot(deberta.ConvLayer, "LayerNorm", Role.NORM, params=NORM),
        Slot(deberta.LegacyDebertaV2PredictionHeadTransform, "dense", Role.HEAD),
        Slot(deberta.LegacyDebertaV2PredictionHeadTransform, "LayerNorm", Role.NORM, params=NORM),
        Slot(deberta.LegacyDebertaV2LMPredictionHead, "decoder", Role.HEAD, tied=True),
        Slot(deberta.DebertaV2LMPredictionHead, "dense", Role.HEAD),
        Slot(deberta.DebertaV2LMPredictionHead, "LayerNorm", Role.NORM, params=NORM),
        Slot(deberta.DebertaV2LMPredictionHead, "", Role.HEAD, params=("bias",)),  # logits = h·Eᵀ + bias (legacy=False)
        Slot(deberta.ContextPooler, "dense", Role.POOLER),
        Slot(deberta.DebertaV2ForSequenceClassification, "classifier", Role.HEAD),
        Slot(deberta.DebertaV2ForMultipleChoice, "classifier", Role.HEAD),
        Slot(deberta.DebertaV2ForTokenClassification, "classifier", Role.HEAD),
        Slot(deberta.DebertaV2ForQuestionAnswering, "qa_outputs", Role.HEAD),
    ),
    pretraining="AutoModelForMaskedLM",
    example=dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, intermediate_size=64, vocab_size=64,
                 max_position_embeddings=32, pad_token_id=0, pooler_hidden_size=16, relative_attention=True,
                 pos_att_type="p2c|c2p", position_buckets=8, max_relative_positions=-1, norm_rel_ebd="layer_norm",
                 share_att_key=True, position_biased_input=False, type_vocab_size=0),
    scale=_scale,
    fit=_fit,
    dropout=("hidden_dropout_prob", "attention_probs_dropout_prob", "pooler_dropout"),
    option_defaults=(("embeddings", "idi"),),  # provisional: BERT's, until the benchmark decides
)
