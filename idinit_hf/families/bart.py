"""The BART layout (encoder-decoder with ``self_attn``, ``encoder_attn``, ``fc1``/``fc2``), in its two norm positions.

* **Post-LN** (:data:`BART`: BART, Marian, Blenderbot-small, PLBART, MVP): ``h = LN(x + out_proj(attn(x)))``,
  in the decoder ``h = LN(h + out_proj'(cross_attn(h, encoder states)))``, ``out = LN(h + fc2(act(fc1(h))))``, as
  BERT; a zero branch makes a block ``x ↦ LN(x)`` (``LN(LN(x))``: idempotent up to its ε). BART normalizes the
  embeddings before the first block (``layernorm_embedding``), so there a block is ``x ↦ x`` up to rounding; Marian
  does not, so its first block normalizes.
* **Pre-LN** (:data:`MBART`: mBART, Pegasus, Blenderbot, M2M100): ``h = x + out_proj(attn(LN(x)))``, …,
  ``out = h + fc2(act(fc1(LN(h))))``, each stack ending in ``layer_norm``: every block the identity at init.

Which is which was read from each model's ``EncoderLayer.forward`` (where ``self_attn_layer_norm`` is called);
``tests/families/test_bart.py`` finds both lists again from a forward pass. Cross-attention (``encoder_attn``) has
its own role (``idinit_cross_attention``; its ``out_proj`` is IDIZε). Embeddings: ``shared`` is the table the
stacks read (``encoder.embed_tokens`` and ``decoder.embed_tokens`` are the same tensor when the config ties them:
alias slots, whichever flag ties them, ``tie_word_embeddings`` or Marian's ``share_encoder_decoder_embeddings``);
learned position tables follow ``idinit_embeddings``, sinusoidal ones (Marian, Pegasus, M2M100) are fixed
functions of the position and stay the library's. Norms, the embedding norm and the stacks' final norms: the
library's (1 / 0).

``tests/families/test_bart.py::test_every_bart_layout_model_type_is_covered`` checks both lists against every
sequence-to-sequence model type of the installed transformers. Not this layout: LED (Longformer attention),
BigBird-Pegasus (block-sparse attention), Pegasus-X (global tokens), FSMT (its own names), NLLB-MoE (routed MLPs),
ProphetNet (n-gram streams).
"""

from dataclasses import replace

from ..roles import Role, Slot
from ._blocks import NORM, attention_slots, mlp_slots
from .family import Family

_LAYERS = ("EncoderLayer", "DecoderLayer")
_STACKS = ("Encoder", "Decoder")


def _scale(depth: int, width: int) -> dict:
    """``depth`` blocks in each stack, heads of width 16, an MLP 4x as wide (BART's ratio)."""
    heads = max(1, width // 16)
    return dict(encoder_layers=depth, decoder_layers=depth, d_model=width, encoder_attention_heads=heads,
                decoder_attention_heads=heads, encoder_ffn_dim=4 * width, decoder_ffn_dim=4 * width)


def _fit(shape) -> dict:
    # [PAD] is one id no text holds (its embedding row stays 0); the decoder starts from it
    return dict(vocab_size=shape.vocab_size, max_position_embeddings=shape.length, pad_token_id=shape.pad_id,
                decoder_start_token_id=shape.pad_id)


BART_SLOTS = (
    *attention_slots(_LAYERS, out="out_proj", prefix="self_attn."),
    *attention_slots("DecoderLayer", out="out_proj", prefix="encoder_attn.", role=Role.CROSS_ATTENTION_IN),
    *mlp_slots(_LAYERS, "fc1", "fc2"),
    Slot(_LAYERS, "self_attn_layer_norm", Role.NORM, params=NORM),
    Slot("DecoderLayer", "encoder_attn_layer_norm", Role.NORM, params=NORM),
    Slot(_LAYERS, "final_layer_norm", Role.NORM, params=NORM),
    Slot(_STACKS, "layernorm_embedding", Role.NORM, params=NORM),  # BART, mBART: LN of the embeddings
    Slot(_STACKS, "layer_norm", Role.NORM, params=NORM),  # pre-LN: each stack's final norm
    Slot("Model", "shared", Role.EMBEDDING, token_table=True),
    Slot(_STACKS, "embed_tokens", Role.EMBEDDING, alias=True),  # shared's tensor when tied; else its own
    Slot("LearnedPositionalEmbedding", "", Role.EMBEDDING),  # sinusoidal tables stay the library's
    Slot(("ForConditionalGeneration", "MTModel", "ForCausalLM"), "lm_head", Role.HEAD, tied=True),
    Slot("ClassificationHead", "dense", Role.HEAD),
    Slot("ClassificationHead", "out_proj", Role.HEAD),
    Slot("ForQuestionAnswering", "qa_outputs", Role.HEAD),
)

_EXAMPLE = dict(encoder_layers=2, decoder_layers=2, d_model=16, encoder_attention_heads=2, decoder_attention_heads=2,
                encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=64, max_position_embeddings=32, pad_token_id=1,
                bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
_DROPOUT = ("dropout", "attention_dropout", "activation_dropout")

BART = Family(
    name="bart",
    model_types=("bart", "marian", "blenderbot-small", "plbart", "mvp"),
    block=_LAYERS,
    norm_position="post",
    slots=BART_SLOTS,
    pretraining="AutoModelForSeq2SeqLM",
    example=_EXAMPLE,
    scale=_scale,
    fit=_fit,
    dropout=_DROPOUT,
    stacks=2,
)

#: The same table, examples and sizes in the pre-LN position.
MBART = replace(BART, name="mbart", model_types=("mbart", "pegasus", "blenderbot", "m2m_100"), norm_position="pre")
