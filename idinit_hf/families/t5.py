"""The T5 layout (pre-norm encoder-decoder): T5, mT5 and UMT5.

Block (``T5Block``, encoder and decoder alike): ``h = x + o(attn(layer_norm(x)))``, in the decoder then
``h = h + o'(cross_attn(layer_norm(h), encoder states))``, and ``out = h + wo(act(wi(m)))`` with ``m = layer_norm(h)``
(T5 v1.1 and mT5: ``wo(act(wi_0(m)) * wi_1(m))``). No biases; the norms are RMS norms with a weight only, and each
stack ends in ``final_layer_norm``. No norm after a branch, so IDIZε on ``o`` and ``wo`` makes every block of both
stacks the identity at init (``idinit_mlp_out="idiz"``). The family's default leaves ``wo`` to T5's own init
(``idinit_mlp_out="default"``, measured: docs/defaults.md, "T5's MLP output"): the attention branches start at ≈ 0,
the MLP branches compute from step 0.

What is particular to T5, and the rule it gets here:

* **Unscaled logits.** T5 computes ``q·kᵀ`` without dividing by √d_head; its own init folds that factor into the
  query (std ``(d_model·d_kv)^-½`` against ``d_model^-½`` for the key). IDIτ on ``q`` with ``Q = K = I`` would give
  logits √d_head times sharper than the same rule gives a scaled attention (BERT, BART, Llama), so the query's IDIτ
  is multiplied by d_head^-½ (``idinit_unscaled_query="fold"``; ``"identity"`` keeps τ). Self- and
  cross-attention alike. The family's default ``idinit_query_scale`` is 0 (measured: docs/defaults.md), so the
  query starts at zero and every attention is uniform at init; the fold applies from ``idinit_query_scale > 0``.
* **Cross-attention** (``EncDecAttention``): its own role, ``idinit_cross_attention`` (its output ``o`` is IDIZε
  whatever that says).
* **Relative attention bias** (``relative_attention_bias``: buckets × heads, in the first block of each stack;
  in every block of UMT5): ``idinit_position_bias``, the library's ``N(0, d^-½)`` by default.
* **Embeddings and the LM head.** The stacks read the model's ``shared`` table (``encoder.embed_tokens`` is the same
  tensor: an alias slot), and transformers 5.x always ties ``lm_head`` to it; with ``tie_word_embeddings`` absent or
  True in the saved config T5 scales the decoder output by d^-½ before the head (``scale_decoder_outputs``), T5
  v1.1 and mT5 do not. The table follows ``idinit_embeddings`` (the library's ``N(0, 1)`` by default).
* Final norms: the library's (weight 1), like every norm.

``model_types`` lists every model type of the installed transformers with exactly this layout;
``tests/families/test_t5.py::test_every_t5_layout_model_type_is_covered`` finds them and checks the list. LongT5
(local and transient-global attention), Switch Transformers (a routed MLP) and T5Gemma (Gemma's sandwich norms) are
other layouts.
"""

from ..roles import QUERY, Role, Slot
from .family import Family

_SELF, _CROSS, _FF = "LayerSelfAttention", "LayerCrossAttention", "LayerFF"


def _scale(depth: int, width: int) -> dict:
    """``depth`` blocks in each stack, heads of width 16, an MLP 4x as wide (T5's ratio)."""
    return dict(num_layers=depth, num_decoder_layers=depth, d_model=width, num_heads=max(1, width // 16),
                d_kv=min(16, width), d_ff=4 * width)


def _fit(shape) -> dict:
    # the decoder starts from the [PAD] id, as T5 does; it is one no text holds
    return dict(vocab_size=shape.vocab_size, pad_token_id=shape.pad_id, decoder_start_token_id=shape.pad_id)


T5_SLOTS = (
    Slot(_SELF, "SelfAttention.q", Role.ATTENTION_IN, heads=QUERY, unscaled_logits="SelfAttention.key_value_proj_dim"),
    Slot(_SELF, "SelfAttention.k", Role.ATTENTION_IN),
    Slot(_SELF, "SelfAttention.v", Role.ATTENTION_IN),
    Slot(_SELF, "SelfAttention.o", Role.ATTENTION_OUT),
    Slot(_SELF, "SelfAttention.relative_attention_bias", Role.POSITION_BIAS),
    Slot(_SELF, "layer_norm", Role.NORM),
    Slot(_CROSS, "EncDecAttention.q", Role.CROSS_ATTENTION_IN, heads=QUERY,
         unscaled_logits="EncDecAttention.key_value_proj_dim"),
    Slot(_CROSS, "EncDecAttention.k", Role.CROSS_ATTENTION_IN),
    Slot(_CROSS, "EncDecAttention.v", Role.CROSS_ATTENTION_IN),
    Slot(_CROSS, "EncDecAttention.o", Role.ATTENTION_OUT),
    Slot(_CROSS, "layer_norm", Role.NORM),
    Slot(_FF, "DenseReluDense.wi", Role.MLP_IN),  # T5: wo(act(wi(m)))
    Slot(_FF, "DenseReluDense.wi_0", Role.MLP_GATE),  # T5 v1.1, mT5: wo(act(wi_0(m)) * wi_1(m))
    Slot(_FF, "DenseReluDense.wi_1", Role.MLP_IN),
    Slot(_FF, "DenseReluDense.wo", Role.MLP_OUT),
    Slot(_FF, "layer_norm", Role.NORM),
    Slot("Stack", "final_layer_norm", Role.NORM),
    Slot(("ForConditionalGeneration", "Model", "ForQuestionAnswering"), "shared", Role.EMBEDDING, token_table=True),
    Slot("Stack", "embed_tokens", Role.EMBEDDING, alias=True),  # the shared table, unless built alone
    Slot("ForConditionalGeneration", "lm_head", Role.HEAD, tied=True),
    Slot("ClassificationHead", "dense", Role.HEAD),
    Slot("ClassificationHead", "out_proj", Role.HEAD),
    Slot("ForTokenClassification", "classifier", Role.HEAD),
    Slot("ForQuestionAnswering", "qa_outputs", Role.HEAD),
)

T5 = Family(
    name="t5",
    model_types=("t5", "mt5", "umt5"),
    block="Block",
    norm_position="pre",
    slots=T5_SLOTS,
    pretraining="AutoModelForSeq2SeqLM",
    example=dict(num_layers=2, d_model=16, num_heads=2, d_kv=8, d_ff=64, vocab_size=64, pad_token_id=0,
                 decoder_start_token_id=0, eos_token_id=1),
    scale=_scale,
    fit=_fit,
    dropout=("dropout_rate",),
    stacks=2,
    # Q = 0 (uniform attention at init, self- and cross-): better on 3 of 3 seeds at 4 layers; T5's own wo (issue 19:
    # 600 steps, 3 seeds, validation, 4 / 16 layers 2.460 / 2.233 against IDIZε's 2.538 / 2.331 and the default
    # init's 2.471 / 2.384, better than IDIZε on every seed; docs/defaults.md)
    option_defaults=(("query_scale", 0.0), ("mlp_out", "default")),
)
