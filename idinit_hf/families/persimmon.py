"""Persimmon: a fused ``query_key_value`` interleaved per head (as GPT-NeoX), per-head query/key LayerNorms, and the
sequential pre-LN block.

Block: ``h = x + dense(attn(input_layernorm(x)))``, ``out = h + dense_4h_to_h(relu²(dense_h_to_4h(
post_attention_layernorm(h))))``: IDIZε on ``dense`` and ``dense_4h_to_h`` makes it the identity at init.
``query_key_value`` holds ``q_h | k_h | v_h`` for each head ``h`` (the ``"interleaved"`` layout of
:func:`idinit_hf.init.idi_qkv_`); ``q_layernorm``/``k_layernorm`` (``qk_layernorm``, on by default) keep the
library's 1 / 0. Biases 0; the LM head is untied.
"""

from ..roles import FusedQKV, Role, Slot
from . import _causal
from ._blocks import fused_attention_slots, mlp_slots, norm_slots
from .family import Family

PERSIMMON = Family(
    name="persimmon",
    model_types=("persimmon",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *fused_attention_slots("Attention", FusedQKV("interleaved", heads="num_heads", head_dim="head_dim")),
        *norm_slots("Attention", "q_layernorm", "k_layernorm"),
        *mlp_slots("MLP", "dense_h_to_4h", "dense_4h_to_h"),
        *norm_slots("DecoderLayer", "input_layernorm", "post_attention_layernorm"),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "final_layernorm"),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=_causal.scale,
    fit=_causal.fit,
    dropout=("attention_dropout", "hidden_dropout"),
)
