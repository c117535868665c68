"""Cohere (Command-R) and Cohere2: attention and a gated MLP in parallel from one LayerNorm.

Block: ``x + o_proj(attn(input_layernorm(x))) + down_proj(act(gate_proj(m)) * up_proj(m))`` with ``m =
input_layernorm(x)``: both branches end in IDIZε, so the block is the identity at init. The slots are the Llama
table's (grouped-query attention, optional per-head ``q_norm``/``k_norm`` with ``use_qk_norm``, the gate following
``idinit_gate``), without a second norm. The LayerNorm has a weight only; the LM head is tied and its logits scaled by
``logit_scale``. Cohere2 interleaves sliding-window layers: the same weights.
"""

from functools import partial

from ..roles import Role, Slot
from . import _causal
from ._blocks import WEIGHT, attention_slots, gated_mlp_slots, norm_slots
from .family import Family

COHERE = Family(
    name="cohere",
    model_types=("cohere", "cohere2"),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *attention_slots("Attention", grouped=True),
        *norm_slots("Attention", "q_norm", "k_norm", params=WEIGHT),  # LayerNorms without a bias
        *gated_mlp_slots("MLP"),
        *norm_slots("DecoderLayer", "input_layernorm", params=WEIGHT),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "norm", params=WEIGHT),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    # grouped-query attention, and an MLP width (40) that is no multiple of the width. logit_scale 1: Command-R's
    # 1/16 is meant for width 8192; at widths 16-64 it leaves the tied logits ≈ 0, and neither init learned in 20
    # steps (tests/test_train_steps.py: loss ratio 0.987 with IDInit and with the default init, seeds 0-2)
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=40, max_position_embeddings=32, logit_scale=1.0, **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, grouped=True),
    fit=_causal.fit,
    dropout=("attention_dropout",),
)
