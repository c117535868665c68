"""GPT-Neo: the GPT-2 block with separate query, key and value projections (inside an ``attention`` wrapper) and
global and local (windowed) attention layers in turn.

Block: ``h = x + out_proj(attn(ln_1(x)))``, ``out = h + c_proj(act(c_fc(ln_2(h))))``: IDIZε on ``out_proj`` and
``c_proj`` makes it the identity at init. GPT-Neo does not scale attention logits by ``1/√d_h``: with Q = K = I a
token's logit with itself is ``‖x‖²`` (``idinit_query_scale`` applies as everywhere). ``attention_types`` must list
one kind per block: :attr:`Family.derive` keeps global/local alternating for any depth a caller asks for.
"""

from typing import Any

from ..roles import Role, Slot
from . import _causal
from ._blocks import attention_slots, mlp_slots, norm_slots
from .family import Family


def _alternating(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``attention_types`` of global and local layers in turn, one per block (GPT-Neo's own pattern)."""
    depth = kwargs.get("num_layers", kwargs.get("num_hidden_layers"))
    if depth is None:
        return {}
    pairs, odd = divmod(depth, 2)
    return {"attention_types": [[["global", "local"], pairs]] * bool(pairs) + [[["global"], 1]] * odd}


GPT_NEO = Family(
    name="gpt_neo",
    model_types=("gpt_neo",),
    block="Block",
    norm_position="pre",
    slots=(
        *attention_slots("GPTNeoAttention", out="out_proj", prefix="attention."),
        *mlp_slots("MLP", "c_fc", "c_proj"),
        *norm_slots("Block", "ln_1", "ln_2"),
        Slot("Model", "wte", Role.EMBEDDING, token_table=True),
        Slot("Model", "wpe", Role.EMBEDDING),
        *norm_slots("Model", "ln_f"),
        *_causal.HEADS,
    ),
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, window_size=8,
                 max_position_embeddings=32, **_causal.EXAMPLE_TOKENS),
    scale=_causal.scale,
    fit=_causal.fit,
    dropout=("resid_dropout", "embed_dropout", "attention_dropout"),
    derive=_alternating,
)
