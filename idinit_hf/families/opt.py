"""OPT: the fairseq decoder layout — self-attention and ``fc1``/``fc2`` directly in the decoder layer, learned
positions with an offset, and an optional projection between the embedding width and the model width.

Block (``do_layer_norm_before=True``, every OPT but 350m): ``h = x + out_proj(attn(self_attn_layer_norm(x)))``,
``out = h + fc2(relu(fc1(final_layer_norm(h))))``: IDIZε on ``out_proj`` and ``fc2`` makes it the identity at init.
(With ``do_layer_norm_before=False`` the norms follow the residual adds, post-LN as BERT: a block maps ``x`` to
``LN(LN(x))``.) ``project_in`` (embedding width → model width, where ``word_embed_proj_dim`` differs) is part of the
embedding (``idinit_embeddings``), ``project_out`` part of the head (``idinit_heads``). Biases 0; the LM head is tied.
"""

from functools import partial

from ..roles import Role, Slot
from . import _causal
from ._blocks import attention_slots, mlp_slots, norm_slots
from .family import Family

OPT = Family(
    name="opt",
    model_types=("opt",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *attention_slots("Attention", out="out_proj"),
        *mlp_slots("DecoderLayer", "fc1", "fc2"),
        *norm_slots("DecoderLayer", "self_attn_layer_norm", "final_layer_norm"),
        Slot("Decoder", "embed_tokens", Role.EMBEDDING, token_table=True),
        Slot("Decoder", "embed_positions", Role.EMBEDDING),
        Slot("Decoder", "project_in", Role.EMBEDDING),
        Slot("Decoder", "project_out", Role.HEAD),
        *norm_slots("Decoder", "final_layer_norm"),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64, max_position_embeddings=32,
                 **_causal.EXAMPLE_TOKENS),
    scale=partial(_causal.scale, mlp="ffn_dim"),
    fit=_causal.fit,
    dropout=("dropout", "attention_dropout", "layerdrop"),
)
