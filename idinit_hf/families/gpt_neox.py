"""GPT-NeoX (Pythia): one fused ``query_key_value`` interleaved per head, and a parallel residual by default.

Block (``use_parallel_residual=True``, the default): ``x + dense(attn(input_layernorm(x))) +
dense_4h_to_h(act(dense_h_to_4h(post_attention_layernorm(x))))``: both branches read ``x`` and end in IDIZε, so the
block is the identity at init. With ``use_parallel_residual=False`` it is the sequential pre-LN block, the same
identity. ``query_key_value`` (``3d x d``) holds, for each head ``h``, its query, key and value rows one after the
other (``[h·3·d_h, (h+1)·3·d_h)``): each gets the IDIτ row a separate projection would have (the ``"interleaved"``
layout of :func:`idinit_hf.init.idi_qkv_`), so query head ``h``, key head ``h`` and value head ``h`` all read the
input dimensions of head ``h``, and the query rows follow ``idinit_query_scale``. Biases (``attention_bias``) are 0.
"""

from ..roles import FusedQKV, Role, Slot
from . import _causal
from ._blocks import fused_attention_slots, mlp_slots, norm_slots
from .family import Family

GPT_NEOX = Family(
    name="gpt_neox",
    model_types=("gpt_neox",),
    block="GPTNeoXLayer",
    norm_position="pre",
    slots=(
        *fused_attention_slots("GPTNeoXAttention",
                               FusedQKV("interleaved", heads="config.num_attention_heads", head_dim="head_size")),
        *mlp_slots("GPTNeoXMLP", "dense_h_to_4h", "dense_4h_to_h"),
        *norm_slots("GPTNeoXLayer", "input_layernorm", "post_attention_layernorm"),
        Slot("GPTNeoXModel", "embed_in", Role.EMBEDDING, token_table=True),
        *norm_slots("GPTNeoXModel", "final_layer_norm"),
        *_causal.HEADS,
    ),
    # An IDIτ untied LM head and Q = 0 (docs/defaults.md, issue 20): CPython text, width 64, parallel residual,
    # 3 seeds, final validation loss 2.497 / 2.481 at 4 / 16 layers against 2.582 / 2.606 with the library head and
    # Q = I, and 2.616 / 2.656 for the default init; better on every seed at 16 layers (one tie at 4), the default's
    # final loss reached in 0.53 / 0.50 of the steps (0.75 / 0.69 before). benchmarks/results/issue20/.
    option_defaults=(("heads", "idi"), ("query_scale", 0.0)),
    pretraining="AutoModelForCausalLM",
    # 4 heads of 4: the interleaving of query_key_value is visible; rotary on a quarter of each head (the default)
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=_causal.scale,
    fit=_causal.fit,
    dropout=("attention_dropout", "hidden_dropout"),
)
