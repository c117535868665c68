"""BLOOM: a fused ``query_key_value`` interleaved per head, ALiBi instead of position embeddings, and the sequential
pre-LN block.

Block (``apply_residual_connection_post_layernorm=False``, the default): ``h = x + dense(attn(input_layernorm(x)))``,
``out = h + dense_4h_to_h(gelu(dense_h_to_4h(post_attention_layernorm(h))))`` (the residual adds happen inside the
attention and MLP modules): IDIZε on ``dense`` and ``dense_4h_to_h`` makes it the identity at init. (With
``apply_residual_connection_post_layernorm=True`` the residual is the normed input: a block maps ``x`` to
``input_layernorm(x)``, as a post-LN block does.) ``query_key_value`` holds ``q_h | k_h | v_h`` for each head ``h``
(the ``"interleaved"`` layout of :func:`idinit_hf.init.idi_qkv_`). The embedding has its own LayerNorm
(``word_embeddings_layernorm``: the library's 1 / 0); the LM head is tied.
"""

from functools import partial

from ..roles import FusedQKV, Role, Slot
from . import _causal
from ._blocks import fused_attention_slots, mlp_slots, norm_slots
from .family import Family

BLOOM = Family(
    name="bloom",
    model_types=("bloom",),
    block="Block",
    norm_position="pre",
    slots=(
        *fused_attention_slots("Attention", FusedQKV("interleaved", heads="num_heads", head_dim="head_dim")),
        *mlp_slots("MLP", "dense_h_to_4h", "dense_4h_to_h"),
        *norm_slots("Block", "input_layernorm", "post_attention_layernorm"),
        Slot("Model", "word_embeddings", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "word_embeddings_layernorm", "ln_f"),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, mlp=None),  # the MLP is always 4x the width
    fit=partial(_causal.fit, positions=None),  # ALiBi: no position table, no length limit
    dropout=("attention_dropout", "hidden_dropout"),
)
