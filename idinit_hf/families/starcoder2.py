"""StarCoder2: the sequential pre-LN block of the Llama layout with LayerNorms, biases and an ungated MLP.

Block: ``h = x + o_proj(attn(input_layernorm(x)))``, ``out = h + c_proj(act(c_fc(post_attention_layernorm(h))))``:
IDIZε on ``o_proj`` and ``c_proj`` makes it the identity at init. Grouped-query attention (``idinit_gqa``), biases
(``use_bias``) 0, the LM head tied by default.
"""

from functools import partial

from ..roles import Role, Slot
from . import _causal
from ._blocks import attention_slots, mlp_slots, norm_slots
from .family import Family

STARCODER2 = Family(
    name="starcoder2",
    model_types=("starcoder2",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *attention_slots("Attention", grouped=True),
        *mlp_slots("MLP", "c_fc", "c_proj"),
        *norm_slots("DecoderLayer", "input_layernorm", "post_attention_layernorm"),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "norm"),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=64, max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, grouped=True),
    fit=_causal.fit,
    dropout=("attention_dropout", "residual_dropout", "embedding_dropout"),
)
