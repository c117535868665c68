"""Nemotron (and Jais 2): the sequential pre-norm block of the Llama layout with an ungated MLP and LayerNorms with a
bias.

Block: ``h = x + o_proj(attn(input_layernorm(x)))``, ``out = h + down_proj(relu²(up_proj(post_attention_layernorm(
h))))``: IDIZε on ``o_proj`` and ``down_proj`` makes it the identity at init. Nemotron's ``LayerNorm1P`` multiplies
by ``1 + w``: the method's norms have gain 1 and shift 0, i.e. ``w = 0`` (``Role.NORM_1P``), where the library writes
``w = 1``, a gain of 2 (Megatron's own LayerNorm1P starts at ``w = 0``). The norms are found by their class, so the
same table gives Jais 2's plain LayerNorms (gain ``w``) the library's 1 / 0. Grouped-query attention
(``idinit_gqa``); the LM head is untied.
"""

from functools import partial

from ..roles import Role, Slot
from . import _causal
from ._blocks import NORM, attention_slots, mlp_slots, norm_slots
from .family import Family

NEMOTRON = Family(
    name="nemotron",
    model_types=("nemotron", "jais2"),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *attention_slots("Attention", grouped=True),
        *mlp_slots("MLP", "up_proj", "down_proj"),
        # every norm of the model (input, post-attention, final), by its class: Nemotron's 1 + w, Jais 2's plain w
        Slot("LayerNorm1P", "", Role.NORM_1P, params=NORM),
        *norm_slots("LayerNorm", ""),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=4,
                 intermediate_size=64, max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, grouped=True, head_dim=True),
    fit=_causal.fit,
    dropout=("attention_dropout",),
)
