"""HyperCLOVA X: the sandwich ("Peri-LN") layout of Gemma 2 under Llama's names, with plain ``w`` RMSNorm gains.

Block: ``h = x + m·post_norm1(o_proj(attn(input_layernorm(x))))``,
``out = h + m·post_norm2(mlp(post_attention_layernorm(h)))`` with ``m = residual_multiplier`` and Llama's gated MLP
and grouped-query attention (plus Granite-like embedding, attention and logit multipliers). ``post_attention_layernorm``
is the MLP's INPUT norm here (Llama's name); the norms that end the branches are ``post_norm1`` / ``post_norm2``,
whose gain of ε (``w = ε``) is the zero-preserving element, as in :mod:`idinit_hf.families.gemma2`.

With ``use_post_norm=False`` the two post norms are ``nn.Identity`` (no slot is found) and the branches end in
``o_proj`` / ``down_proj``: the Llama layout. The family's default ``idinit_normed_out="idiz"`` (the Gemma 2 layout's
measured default) then writes IDIZε there, so every block is the identity at init either way; with another value of
``idinit_normed_out`` such a model is not an identity at init.
"""

from ..roles import Role, Slot
from .family import Family
from .gemma2 import GEMMA2
from .llama import LLAMA
from .olmo2 import NORMED_DOWN_PROJ, NORMED_O_PROJ


def _llama(path: str) -> Slot:
    return next(slot for slot in LLAMA.slots if slot.path == path)


HYPERCLOVAX = Family(
    name="hyperclovax",
    model_types=("hyperclovax",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        _llama("q_proj"), _llama("k_proj"), _llama("v_proj"),
        NORMED_O_PROJ,
        _llama("gate_proj"), _llama("up_proj"),
        NORMED_DOWN_PROJ,
        _llama("input_layernorm"),
        _llama("post_attention_layernorm"),  # the MLP's input norm
        Slot("DecoderLayer", "post_norm1", Role.ATTENTION_OUT_NORM),
        Slot("DecoderLayer", "post_norm2", Role.MLP_OUT_NORM),
        *(slot for slot in LLAMA.slots if slot.role in (Role.EMBEDDING, Role.HEAD) or slot.path == "norm"),
    ),
    option_defaults=GEMMA2.option_defaults,  # the sandwich layout's, measured on Gemma 2 (not on this model type)
    pretraining="AutoModelForCausalLM",
    example=LLAMA.example,
    scale=LLAMA.scale,
    fit=LLAMA.fit,
    dropout=LLAMA.dropout,
)
