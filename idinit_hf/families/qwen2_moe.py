"""The Qwen2-MoE layout: the Mixtral layout plus a shared expert that every token goes through, behind a sigmoid gate.

Block: as Mixtral's (``idinit_hf/families/mixtral.py``), with the mixture's output
``Σ_{e ∈ top-k} p_e(m)·f_e(m) + σ(shared_expert_gate(m))·shared_expert(m)``; ``shared_expert`` is a dense gated MLP
(``nn.Linear`` gate/up/down) and ``shared_expert_gate`` an ``nn.Linear(d, 1)``. Under IDInit the shared expert is a
gated MLP like Llama's (gate/up IDIτ, down IDIZε: the block stays the identity at init) unless
``idinit_shared_experts="default"`` leaves it to the library; its gate is a router (``idinit_router``: random, zero =
σ(0) = ½ for every token, or IDIτ = σ(m_0)). ``mlp_only_layers`` / ``decoder_sparse_step`` put a dense MLP in some
blocks. ``model_types`` lists every model type of the installed transformers with exactly this layout
(``tests/families/test_moe_layouts.py``).
"""

from ..roles import Role, Slot
from ._blocks import gated_mlp_slots
from .family import Family
from .mixtral import ATTENTION_SLOTS, BLOCK_NORMS, DENSE_MLP_SLOTS, EXPERT_SLOTS, MIXTRAL, OUTER_SLOTS, ROUTER

#: The shared expert inside the mixture, and its scalar sigmoid gate (found from the block: the mixture's class name
#: varies between model types).
SHARED_EXPERT_SLOTS = (
    *gated_mlp_slots("DecoderLayer", prefix="mlp.shared_expert.", option="shared_experts"),
    Slot("DecoderLayer", "mlp.shared_expert_gate", Role.ROUTER),
)


def _scale(depth: int, width: int) -> dict:
    """Mixtral's sizes, with fine-grained experts (a quarter of Llama's MLP width: 44 for 64, narrower than the model)
    and a shared expert of Llama's MLP width, as Qwen1.5-MoE (1408 per expert, 5632 shared, for 2048)."""
    sizes = MIXTRAL.scale(depth, width)
    return dict(sizes, shared_expert_intermediate_size=sizes["intermediate_size"])


QWEN2_MOE = Family(
    name="qwen2_moe",
    model_types=("qwen2_moe",),
    block="DecoderLayer",
    norm_position="pre",
    slots=(*ATTENTION_SLOTS, ROUTER, *EXPERT_SLOTS, *SHARED_EXPERT_SLOTS, *DENSE_MLP_SLOTS, *BLOCK_NORMS,
           *OUTER_SLOTS),
    pretraining="AutoModelForCausalLM",
    example=dict(MIXTRAL.example, shared_expert_intermediate_size=40),
    scale=_scale,
    fit=MIXTRAL.fit,
    dropout=MIXTRAL.dropout,
    option_defaults=MIXTRAL.option_defaults,
)
