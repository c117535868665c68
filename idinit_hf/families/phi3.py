"""Phi-3: a fused ``qkv_proj`` (all query heads, then the key heads, then the value heads, grouped-query attention)
and a fused ``gate_up_proj`` (gate = first half), in the sequential pre-norm block of the Llama layout.

Block: ``h = x + o_proj(attn(input_layernorm(x)))``, ``out = h + down_proj(up · act(gate))`` with ``gate | up =
gate_up_proj(post_attention_layernorm(h))``. ``qkv_proj`` gets, row for row, what separate ``q_proj``, ``k_proj`` and
``v_proj`` of the Llama table would get (the ``"blocks"`` layout of :func:`idinit_hf.init.idi_qkv_`: the query rows
follow ``idinit_query_scale``, the key/value rows ``idinit_gqa``). ``gate_up_proj`` is a fused gate | up
(``Slot.gate_up="halves"``, as a mixture's experts): the up half gets IDIτ and its loosening, the gate half what a
separate gate projection gets (``idinit_gate``). ``o_proj`` and ``down_proj`` end the branches: IDIZε.
"""

from functools import partial

from ..roles import FusedQKV, Role, Slot
from . import _causal
from ._blocks import WEIGHT, fused_attention_slots, norm_slots
from .family import Family

PHI3 = Family(
    name="phi3",
    model_types=("phi3",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *fused_attention_slots("Attention", FusedQKV("blocks", heads="config.num_attention_heads",
                                                     kv_heads="num_key_value_heads", head_dim="head_dim"),
                               fused="qkv_proj", out="o_proj"),
        Slot("MLP", "gate_up_proj", Role.MLP_IN, gate_up="halves"),
        Slot("MLP", "down_proj", Role.MLP_OUT),
        *norm_slots("DecoderLayer", "input_layernorm", "post_attention_layernorm", params=WEIGHT),  # RMSNorms
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "norm", params=WEIGHT),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    # grouped-query attention (4 query heads on 2 key/value heads) and an MLP width (40) no multiple of the width
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=40, max_position_embeddings=32, original_max_position_embeddings=32,
                 **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, grouped=True),
    fit=_causal.fit,
    dropout=("attention_dropout", "resid_pdrop", "embd_pdrop"),
)
