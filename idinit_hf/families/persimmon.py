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
from .family import Family

PERSIMMON = Family(
    name="persimmon",
    model_types=("persimmon",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        Slot("Attention", "query_key_value", Role.ATTENTION_IN,
             qkv=FusedQKV("interleaved", heads="num_heads", head_dim="head_dim")),
        Slot("Attention", "dense", Role.ATTENTION_OUT),
        Slot("Attention", "q_layernorm", Role.NORM, params=_causal.NORM),
        Slot("Attention", "k_layernorm", Role.NORM, params=_causal.NORM),
        Slot("MLP", "dense_h_to_4h", Role.MLP_IN),
        Slot("MLP", "dense_4h_to_h", Role.MLP_OUT),
        Slot("DecoderLayer", "input_layernorm", Role.NORM, params=_causal.NORM),
        Slot("DecoderLayer", "post_attention_layernorm", Role.NORM, params=_causal.NORM),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        Slot("Model", "final_layernorm", Role.NORM, params=_causal.NORM),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=_causal.scale,
    fit=_causal.fit,
    dropout=("attention_dropout", "hidden_dropout"),
)
