"""The GPT-OSS layout: Mixtral's block with biases everywhere, attention sinks, and experts stored transposed with
gate and up interleaved.

Attention: q/k/v/o with biases (zeroed by IDInit), GQA, and ``sinks`` (one learned logit per head for a "null" key:
the library's init). The mixture (``GptOssMLP``): a router ``weight`` ``E x d`` with a ``bias``; experts
``gate_up_proj`` stored ``E x d x 2I`` (``x @ W``) with gate = even columns and up = odd ones (``[..., ::2]``,
``[..., 1::2]``), ``gate_up_proj_bias`` ``E x 2I``, ``down_proj`` ``E x I x d``, ``down_proj_bias`` ``E x d``. The
activation is ``(up + 1)·gate·σ(1.702·gate)`` with both clamped at 7: with gate = up = IDIτ each hidden unit is
``(x + 1)·x·σ(1.702x)``, and the IDIZε down projection keeps the block the identity at init. ``model_types`` lists
every model type of the installed transformers with exactly this layout (``tests/families/test_moe_layouts.py``).
"""

from ..roles import Role, Slot
from .family import Family
from .mixtral import ATTENTION_SLOTS, BLOCK_NORMS, MIXTRAL, OUTER_SLOTS, ROUTER

EXPERT_SLOTS = (
    Slot("Experts", "", Role.MLP_IN, params=("gate_up_proj",), biases=("gate_up_proj_bias",), transposed=True,
         experts=True, gate_up="interleaved", option="experts"),
    Slot("Experts", "", Role.MLP_OUT, params=("down_proj",), biases=("down_proj_bias",), transposed=True,
         experts=True),
)
SINKS = Slot("Attention", "", Role.ATTENTION_SINK, params=("sinks",))

GPT_OSS = Family(
    name="gpt_oss",
    model_types=("gpt_oss",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(*ATTENTION_SLOTS, SINKS, ROUTER, *EXPERT_SLOTS, *BLOCK_NORMS, *OUTER_SLOTS),
    pretraining="AutoModelForCausalLM",
    example=dict(MIXTRAL.example, sliding_window=8),
    scale=MIXTRAL.scale,
    fit=MIXTRAL.fit,
    dropout=MIXTRAL.dropout,
    option_defaults=MIXTRAL.option_defaults,
)
