"""Phi (Phi-1, Phi-1.5, Phi-2): attention and MLP in parallel from one LayerNorm, with biases everywhere.

Block: ``x + dense(attn(input_layernorm(x))) + fc2(act(fc1(input_layernorm(x))))``: both branches end in IDIZε, so
the block is the identity at init. Separate ``q_proj``/``k_proj``/``v_proj`` (grouped-query attention when
``num_key_value_heads < num_attention_heads``: ``idinit_gqa`` lines key head ``g`` up), optional per-head
``q_layernorm``/``k_layernorm`` (``qk_layernorm``: the library's 1 / 0), biases 0, an untied LM head with a bias.
"""

from functools import partial

from ..roles import Role, Slot
from . import _causal
from ._blocks import attention_slots, mlp_slots, norm_slots
from .family import Family

PHI = Family(
    name="phi",
    model_types=("phi",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *attention_slots("Attention", out="dense", grouped=True),
        *norm_slots("Attention", "q_layernorm", "k_layernorm"),
        *mlp_slots("MLP", "fc1", "fc2"),
        *norm_slots("DecoderLayer", "input_layernorm"),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "final_layernorm"),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    # grouped-query attention (4 query heads on 2 key/value heads); rotary on half of each head (the default)
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=64, max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, grouped=True),
    fit=_causal.fit,
    dropout=("resid_pdrop", "embd_pdrop", "attention_dropout"),
)
