"""Phi (Phi-1, Phi-1.5, Phi-2): attention and MLP in parallel from one LayerNorm, with biases everywhere.

Block: ``x + dense(attn(input_layernorm(x))) + fc2(act(fc1(input_layernorm(x))))``: both branches end in IDIZε, so
the block is the identity at init. Separate ``q_proj``/``k_proj``/``v_proj`` (grouped-query attention when
``num_key_value_heads < num_attention_heads``: ``idinit_gqa`` lines key head ``g`` up), optional per-head
``q_layernorm``/``k_layernorm`` (``qk_layernorm``: the library's 1 / 0), biases 0, an untied LM head with a bias.
"""

from functools import partial

from ..roles import KEY_VALUE, QUERY, Role, Slot
from . import _causal
from .family import Family

PHI = Family(
    name="phi",
    model_types=("phi",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        Slot("Attention", "q_proj", Role.ATTENTION_IN, heads=QUERY),
        Slot("Attention", "k_proj", Role.ATTENTION_IN, heads=KEY_VALUE),
        Slot("Attention", "v_proj", Role.ATTENTION_IN, heads=KEY_VALUE),
        Slot("Attention", "dense", Role.ATTENTION_OUT),
        Slot("Attention", "q_layernorm", Role.NORM, params=_causal.NORM),
        Slot("Attention", "k_layernorm", Role.NORM, params=_causal.NORM),
        Slot("MLP", "fc1", Role.MLP_IN),
        Slot("MLP", "fc2", Role.MLP_OUT),
        Slot("DecoderLayer", "input_layernorm", Role.NORM, params=_causal.NORM),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        Slot("Model", "final_layernorm", Role.NORM, params=_causal.NORM),
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
