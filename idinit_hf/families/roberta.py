"""BERT's layout in the masked LMs that generate their own copy of BERT's classes: RoBERTa, XLM-RoBERTa, CamemBERT,
data2vec-text, ELECTRA, ERNIE, RoFormer, BigBird, LayoutLM, MRA, RemBERT, RoCBert and TAPAS.

The block is BERT's, post-LN: ``h = LN(x + attention.output.dense(attn(x)))``, ``out = LN(h + output.dense(act(
intermediate.dense(h))))``, so IDIZε on the two ``dense`` layers that end the branches makes every block ``x → LN(x)``.
In transformers 5.x each of these models generates its own classes (``RobertaSelfOutput`` does not subclass
``BertSelfOutput``), so the table is BERT's own (:data:`idinit_hf.families.bert.BERT`), each owner named by its class
name less ``Bert`` (:func:`idinit_hf.roles.by_class_name`: ``BertOutput`` → ``ClassName("Output", not_after=("Self",))``,
which does not match ``RobertaSelfOutput``), plus what the siblings add outside the blocks: RoBERTa's LM and
classification heads, ELECTRA's generator and discriminator heads, the projection of a narrower embedding (ELECTRA,
RoFormer, RemBERT, RoCBert), BigBird's bare pooler, and the extra embedding tables of LayoutLM (2-D positions), TAPAS
(table token types), ERNIE (task ids) and RoCBert (glyph and pronunciation). RoFormer's sinusoidal position table has
no slot: it keeps the library's fixed sinusoids.

``model_types`` is every masked-LM type of the installed transformers whose encoder blocks hold exactly BERT's
parameters (``tests/families/test_roberta.py::test_every_bert_layout_model_type_is_covered`` finds them and checks the
list). Blocks with more than BERT's (Longformer's global projections, LUKE's entity queries, Nyströmformer's
convolution, X-MOD's adapters, ConvBERT's span convolutions) need tables of their own; YOSO has BERT's parameters but
its attention takes ``acos(q̂·k̂)``, which is NaN where IDInit makes ``q = k`` (``q̂·k̂`` rounds above 1); I-BERT's quantized
layers make their integer buffers from their weights at construction (``zeros_like(weight)``), which a build with
deferred parameters leaves on the meta device; BERT's pre-LN variants are
:mod:`idinit_hf.families.bert_prenorm`.
"""

from ..roles import QUERY, ClassName, Role, Slot, by_class_name
from .bert import BERT
from .family import Family

_NORM = ("weight", "bias")

#: BERT's table (embeddings, blocks, pooler, heads), found by class-name suffix in every model of BERT's layout.
BERT_LAYOUT = by_class_name(BERT.slots, prefix="Bert")

#: Heads and main-stem layers that BERT's siblings add around BERT's blocks.
SIBLING_EXTRAS = (
    # RoBERTa-style LM head: dense → GELU → LayerNorm → decoder (tied to the word embeddings)
    Slot(ClassName("LMHead"), "dense", Role.HEAD),
    Slot(ClassName("LMHead"), "layer_norm", Role.NORM, params=_NORM),
    Slot(ClassName("LMHead"), "decoder", Role.HEAD, tied=True),
    Slot(ClassName("LMHead"), "", Role.HEAD, params=("bias",)),  # ESM: the decoder's bias, kept by the head
    Slot(ClassName("ClassificationHead"), "dense", Role.HEAD),
    Slot(ClassName("ClassificationHead"), "out_proj", Role.HEAD),
    Slot(ClassName("ForMultipleChoice"), "classifier", Role.HEAD),
    Slot(ClassName("SequenceSummary"), "summary", Role.HEAD),
    # ELECTRA: generator (masked LM) and discriminator heads; RemBERT's untied LM head has its own transform
    Slot(ClassName("GeneratorPredictions"), "dense", Role.HEAD),
    Slot(ClassName("GeneratorPredictions"), "LayerNorm", Role.NORM, params=_NORM),
    Slot(ClassName("ForMaskedLM"), "generator_lm_head", Role.HEAD, tied=True),
    Slot(ClassName("DiscriminatorPredictions"), "dense", Role.HEAD),
    Slot(ClassName("DiscriminatorPredictions"), "dense_prediction", Role.HEAD),
    Slot(ClassName("LMPredictionHead"), "dense", Role.HEAD),
    Slot(ClassName("LMPredictionHead"), "LayerNorm", Role.NORM, params=_NORM),
    # an embedding narrower (or wider) than the model, projected to its width before the first block
    Slot(ClassName("Model"), "embeddings_project", Role.EMBEDDING_PROJECTION),  # ELECTRA
    Slot(ClassName("Encoder"), "embeddings_project", Role.EMBEDDING_PROJECTION),  # RoFormer
    Slot(ClassName("Encoder"), "embedding_hidden_mapping_in", Role.EMBEDDING_PROJECTION),  # RemBERT
    Slot(ClassName("Embeddings"), "map_inputs_layer", Role.EMBEDDING_PROJECTION),  # RoCBert: [word | glyph | sound]
    Slot(ClassName("Model"), "pooler", Role.POOLER),  # BigBird's pooler is a bare Linear
    # BigBird's block-sparse attention (attention_type="block_sparse", its default)
    *(Slot(ClassName("BlockSparseAttention"), name, Role.ATTENTION_IN, heads=QUERY if name == "query" else "")
      for name in ("query", "key", "value")),
    # extra embedding tables
    *(Slot(ClassName("Embeddings"), f"{axis}_position_embeddings", Role.EMBEDDING) for axis in "xyhw"),  # LayoutLM
    *(Slot(ClassName("Embeddings"), f"token_type_embeddings_{i}", Role.EMBEDDING) for i in range(7)),  # TAPAS
    Slot(ClassName("Embeddings"), "task_type_embeddings", Role.EMBEDDING),  # ERNIE (use_task_id)
    Slot(ClassName("Embeddings"), "shape_embed", Role.EMBEDDING),  # RoCBert
    Slot(ClassName("Embeddings"), "pronunciation_embed", Role.EMBEDDING),
)

#: Model types that number positions from ``pad_token_id + 1`` (fairseq's convention): their position table needs
#: ``pad_token_id + 1`` rows more than the longest sequence.
POSITIONS_AFTER_PAD = ("roberta", "xlm-roberta", "camembert", "data2vec-text")


def _scale(depth: int, width: int) -> dict:
    """BERT's: heads of width 16, an MLP 4x as wide; the embeddings as wide as the model (ELECTRA, RoFormer and
    RemBERT would otherwise keep their own embedding width and project it)."""
    return dict(BERT.scale(depth, width), embedding_size=width, input_embedding_size=width,
                output_embedding_size=width)


def _fit(shape) -> dict:
    # Positions start after the [PAD] id in RoBERTa and its kin: the table must reach pad_id + 1 + length.
    # RoCBert's glyph and pronunciation tables have a [PAD] row too (the config's pad_token_id).
    return dict(BERT.fit(shape), max_position_embeddings=shape.length + shape.pad_id + 1,
                shape_vocab_size=shape.vocab_size, pronunciation_vocab_size=shape.vocab_size)


def context_length(config) -> int:
    """The longest sequence a model of this layout takes: its position table less the rows before the first position
    (``pad_token_id + 1`` of them for :data:`POSITIONS_AFTER_PAD`)."""
    offset = config.pad_token_id + 1 if config.model_type in POSITIONS_AFTER_PAD else 0
    return int(config.max_position_embeddings) - offset


ROBERTA = Family(
    name="roberta",
    model_types=("roberta", "xlm-roberta", "camembert", "data2vec-text", "electra", "ernie", "roformer", "big_bird",
                 "layoutlm", "mra", "rembert", "roc_bert", "tapas"),
    block=ClassName("Layer"),
    norm_position="post",
    slots=(*BERT_LAYOUT, *SIBLING_EXTRAS),
    pretraining="AutoModelForMaskedLM",
    # RoBERTa's special ids (RemBERT's 312 / 313 would lie outside a small vocabulary); RoCBert's glyph and
    # pronunciation tables as small as the rest (its defaults are 24858 x 512 and 910 x 768)
    example=dict(BERT.example, embedding_size=16, input_embedding_size=16, output_embedding_size=16,
                 max_position_embeddings=64, bos_token_id=0, eos_token_id=2, shape_vocab_size=32, shape_embed_dim=16,
                 pronunciation_vocab_size=32, pronunciation_embed_dim=16),
    scale=_scale,
    fit=_fit,
    dropout=BERT.dropout,
    option_defaults=BERT.option_defaults,
    context_length=context_length,
)
