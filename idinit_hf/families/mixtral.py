"""The Mixtral layout: Llama's pre-norm attention, and a mixture of experts in place of the MLP.

Block: ``h = x + o_proj(attn(input_layernorm(x)))``, ``out = h + Σ_{e ∈ top-k(router(m))} p_e(m)·f_e(m)`` with
``m = post_attention_layernorm(h)`` and ``f_e(m) = down_e(act(gate_e(m)) * up_e(m))``. The experts are not
``nn.Linear`` modules but two 3-D parameters of the ``…Experts`` module: ``gate_up_proj`` (``E x 2I x d``, gate = first
half) and ``down_proj`` (``E x d x I``); the router is a raw ``E x d`` ``weight`` (``…TopKRouter``; PhiMoE's is an
``nn.Linear``). Every expert's down projection is IDIZε, so every block is the identity at init whatever the routing.

Open questions, each an option with a measured default (docs/defaults.md): the router (``idinit_router``: the
library's random init, zero = uniform routing, or IDIτ), and what tells identical experts apart (``idinit_experts``:
a per-expert cyclic shift of the model dimensions, per-expert loosening, exact copies, or the library's random
gate/up projections).

The names differ between model types and are all in the table (a slot whose module is absent is skipped): the mixture
is ``mlp`` (Mixtral, Qwen3-MoE, OLMoE, PhiMoE, Mellum, MiniMax-M2) or ``block_sparse_moe`` (GraniteMoE), its router
``gate`` or ``router``; PhiMoE's norms are LayerNorms with a bias; Qwen3-MoE, OLMoE, Mellum and MiniMax-M2 add q/k
norms; Qwen3-MoE's ``mlp_only_layers`` / ``decoder_sparse_step`` and Mellum's ``mlp_layer_types`` put a dense gated
MLP in some blocks; GraniteMoeShared adds a shared MLP (a fused gate|up ``nn.Linear``) to the mixture, without a
gate (``idinit_shared_experts``). ``model_types`` lists every model type of the
installed transformers with exactly this layout (``tests/families/test_mixtral.py`` finds them and checks the list).
"""

from ..roles import Role, Slot
from ._blocks import gated_mlp_slots, norm_slots
from .family import Family
from .llama import LLAMA, LLAMA_LAYOUT_DEFAULTS

#: Llama's attention (q/k/v/o, GQA rows, q/k norms): the same slots, imported.
ATTENTION_SLOTS = tuple(slot for slot in LLAMA.slots if slot.owner == "Attention")
#: Outside the blocks: embedding, final norm, LM and task heads (Llama's).
OUTER_SLOTS = tuple(slot for slot in LLAMA.slots if slot.owner not in ("Attention", "MLP", "DecoderLayer"))

#: A mixture's router (``E x d`` logits; GPT-OSS's has a bias), matched on the router module itself.
ROUTER = Slot("Router", "", Role.ROUTER)
#: The stacked experts, ``E x 2I x d`` (gate = first half) and ``E x d x I``. ``idinit_experts="default"`` leaves the
#: gate/up projections to the library; the down projection is always IDIZε (the branch stays ≈ 0).
EXPERT_SLOTS = (
    Slot("Experts", "", Role.MLP_IN, params=("gate_up_proj",), experts=True, gate_up="halves", option="experts"),
    Slot("Experts", "", Role.MLP_OUT, params=("down_proj",), experts=True),
)
#: A dense gated MLP in place of the mixture (Qwen-MoE's ``mlp_only_layers``, DeepSeek's first blocks), matched from
#: the block so that a shared expert (also a ``…MLP``) is not.
DENSE_MLP_SLOTS = gated_mlp_slots("DecoderLayer", prefix="mlp.")
#: GraniteMoeShared's shared MLP (``shared_intermediate_size > 0``), added to the mixture's output without a gate: a
#: fused gate|up ``nn.Linear`` (``2I x d``, gate = first half) and its down projection.
SHARED_MLP_SLOTS = (
    Slot("DecoderLayer", "shared_mlp.input_linear", Role.MLP_IN, gate_up="halves", option="shared_experts"),
    Slot("DecoderLayer", "shared_mlp.output_linear", Role.MLP_OUT, option="shared_experts"),
)
BLOCK_NORMS = norm_slots("DecoderLayer", "input_layernorm", "post_attention_layernorm")


def _scale(depth: int, width: int) -> dict:
    """Llama's attention and MLP width (8/3 of the model width, rounded up to a multiple of 8: 176 for 64) for each
    of 4 experts, 2 of them per token (Mixtral's top-2); the fine-grained expert width of Qwen-MoE is a quarter of it."""
    sizes = LLAMA.scale(depth, width)
    return dict(sizes, moe_intermediate_size=sizes["intermediate_size"] // 4, num_local_experts=4, num_experts=4,
                num_experts_per_tok=2)


MIXTRAL = Family(
    name="mixtral",
    model_types=("mixtral", "qwen3_moe", "olmoe", "granitemoe", "granitemoeshared", "phimoe", "mellum",
                 "minimax_m2"),
    block="DecoderLayer",
    norm_position="pre",
    slots=(*ATTENTION_SLOTS, ROUTER, *EXPERT_SLOTS, *SHARED_MLP_SLOTS, *DENSE_MLP_SLOTS, *BLOCK_NORMS, *OUTER_SLOTS),
    pretraining="AutoModelForCausalLM",
    # Llama's example, 4 experts of which 2 per token, the load-balancing loss on (as MoE pretraining trains), and
    # experts wider than the model (40, Mixtral, OLMoE, GraniteMoE, PhiMoE: replicated rows) or narrower (12, Qwen3-MoE's
    # moe_intermediate_size: a partial identity per expert), and GraniteMoeShared's shared MLP.
    example=dict(LLAMA.example, moe_intermediate_size=12, num_local_experts=4, num_experts=4, num_experts_per_tok=2,
                 output_router_logits=True, shared_intermediate_size=40),
    scale=_scale,
    fit=LLAMA.fit,
    dropout=LLAMA.dropout,
    option_defaults=LLAMA_LAYOUT_DEFAULTS,
)
