"""StarCoder2: the sequential pre-LN block of the Llama layout with LayerNorms, biases and an ungated MLP.

Block: ``h = x + o_proj(attn(input_layernorm(x)))``, ``out = h + c_proj(act(c_fc(post_attention_layernorm(h))))``:
IDIZε on ``o_proj`` and ``c_proj`` makes it the identity at init. Grouped-query attention (``idinit_gqa``), biases
(``use_bias``) 0, the LM head tied by default.
"""

from functools import partial

from ..roles import KEY_VALUE, QUERY, Role, Slot
from . import _causal
from .family import Family

STARCODER2 = Family(
    name="starcoder2",
    model_types=("starcoder2",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        Slot("Attention", "q_proj", Role.ATTENTION_IN, heads=QUERY),
        Slot("Attention", "k_proj", Role.ATTENTION_IN, heads=KEY_VALUE),
        Slot("Attention", "v_proj", Role.ATTENTION_IN, heads=KEY_VALUE),
        Slot("Attention", "o_proj", Role.ATTENTION_OUT),
        Slot("MLP", "c_fc", Role.MLP_IN),
        Slot("MLP", "c_proj", Role.MLP_OUT),
        Slot("DecoderLayer", "input_layernorm", Role.NORM, params=_causal.NORM),
        Slot("DecoderLayer", "post_attention_layernorm", Role.NORM, params=_causal.NORM),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        Slot("Model", "norm", Role.NORM, params=_causal.NORM),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=64, max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, grouped=True),
    fit=_causal.fit,
    dropout=("attention_dropout", "residual_dropout", "embedding_dropout"),
)
