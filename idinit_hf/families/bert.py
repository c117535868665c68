"""BERT (post-LN): ``LN(x + f(x))``, so a zero branch makes a block ``x → LN(x)``."""

from transformers.models.bert import modeling_bert as bert

from ..roles import Role, Slot
from ._blocks import NORM, attention_slots
from .family import Family


def _scale(depth: int, width: int) -> dict:
    """Heads of width 16, an MLP 4x as wide (BERT's ratio)."""
    return dict(num_hidden_layers=depth, hidden_size=width, num_attention_heads=max(1, width // 16),
                intermediate_size=4 * width)


def _fit(shape) -> dict:
    # the [PAD] id is one no text holds, so no real token's embedding row is kept at zero (padding_idx)
    return dict(vocab_size=shape.vocab_size, max_position_embeddings=shape.length, pad_token_id=shape.pad_id)

BERT = Family(
    name="bert",
    model_types=("bert",),
    block=bert.BertLayer,
    norm_position="post",
    slots=(
        # the output projection of both attentions is SelfOutput's dense
        *attention_slots(bert.BertSelfAttention, q="query", k="key", v="value", out=None),
        *attention_slots(bert.BertCrossAttention, q="query", k="key", v="value", out=None),
        Slot(bert.BertSelfOutput, "dense", Role.ATTENTION_OUT),
        Slot(bert.BertIntermediate, "dense", Role.MLP_IN),
        Slot(bert.BertOutput, "dense", Role.MLP_OUT),
        Slot(bert.BertEmbeddings, "word_embeddings", Role.EMBEDDING, token_table=True),
        Slot(bert.BertEmbeddings, "position_embeddings", Role.EMBEDDING),
        Slot(bert.BertEmbeddings, "token_type_embeddings", Role.EMBEDDING),
        Slot(bert.BertEmbeddings, "LayerNorm", Role.NORM, params=NORM),
        Slot(bert.BertSelfOutput, "LayerNorm", Role.NORM, params=NORM),
        Slot(bert.BertOutput, "LayerNorm", Role.NORM, params=NORM),
        Slot(bert.BertPooler, "dense", Role.POOLER),
        Slot(bert.BertPredictionHeadTransform, "dense", Role.HEAD),
        Slot(bert.BertPredictionHeadTransform, "LayerNorm", Role.NORM, params=NORM),
        Slot(bert.BertLMPredictionHead, "decoder", Role.HEAD, tied=True),
        Slot(bert.BertOnlyNSPHead, "seq_relationship", Role.HEAD),
        Slot(bert.BertPreTrainingHeads, "seq_relationship", Role.HEAD),
        Slot(bert.BertForSequenceClassification, "classifier", Role.HEAD),
        Slot(bert.BertForTokenClassification, "classifier", Role.HEAD),
        Slot(bert.BertForQuestionAnswering, "qa_outputs", Role.HEAD),
    ),
    pretraining="AutoModelForMaskedLM",
    example=dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, intermediate_size=64, vocab_size=64,
                 max_position_embeddings=32),
    scale=_scale,
    fit=_fit,
    dropout=("hidden_dropout_prob", "attention_probs_dropout_prob"),
    # IDIτ embeddings: at 4 and 16 layers, BERT-MLM under IDInit with the library-default (random) embeddings
    # trained worse than with IDIτ ones on every seed (at 16 layers it stayed near the unigram plateau);
    # GPT-2 and ViT were better with the default embeddings (benchmarks/results/convergence.json, docs/defaults.md)
    option_defaults=(("embeddings", "idi"),),
)
