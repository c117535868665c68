"""Falcon: one fused ``query_key_value`` in three head layouts, and attention and MLP in parallel by default.

``query_key_value`` holds, for each key/value head ``g``, the rows of its ``H/KV`` query heads, then ``k_g``, then
``v_g`` (the ``"interleaved"`` layout of :func:`idinit_hf.init.idi_qkv_`). That one order covers Falcon's three
configurations: multi-query (``multi_query=True``, Falcon-7B, the default: KV = 1, ``Q | k | v``), the classic
per-head ``q_h | k_h | v_h`` (``multi_query=False``: KV = H), and the new decoder architecture (Falcon-40B/180B:
``num_kv_heads`` groups). Each row gets the IDIτ row a separate projection would have: query head ``h`` reads the
dimensions of head ``h``; the single key/value head of multi-query attention reads those of head 0 (``idinit_gqa``
chooses, for grouped heads, between head ``g`` and head ``g·H/KV``, the first query head that uses it).

Block (``parallel_attn=True`` or the new architecture): ``x + dense(attn(ln(x))) + mlp(ln(x))`` with one
``input_layernorm`` or two norms ``ln_attn``/``ln_mlp``; otherwise the sequential pre-LN block with
``post_attention_layernorm``. Every branch ends in IDIZε: the block is the identity at init. The attention module is
reached from the decoder layer (``self_attention``), so the flash-attention class, a subclass, is found the same way.
"""

from functools import partial

from ..roles import FusedQKV, Role, Slot
from . import _causal
from ._blocks import fused_attention_slots, mlp_slots, norm_slots
from .family import Family

_HEADS = FusedQKV("interleaved", heads="self_attention.num_heads", kv_heads="self_attention.num_kv_heads",
                  head_dim="self_attention.head_dim")

FALCON = Family(
    name="falcon",
    model_types=("falcon",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *fused_attention_slots("DecoderLayer", _HEADS, prefix="self_attention."),
        *mlp_slots("MLP", "dense_h_to_4h", "dense_4h_to_h"),
        *norm_slots("DecoderLayer", "input_layernorm", "post_attention_layernorm", "ln_attn", "ln_mlp"),
        Slot("Model", "word_embeddings", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "ln_f"),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    # Falcon-7B's configuration (multi-query, parallel attention) at 4 heads of 4
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=32,
                 **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, mlp="ffn_hidden_size"),
    fit=_causal.fit,
    dropout=("attention_dropout", "hidden_dropout"),
)
