"""The DeepSeek-V3 layout: multi-head latent attention (MLA), dense first blocks, then a mixture of routed experts
plus shared experts.

Attention (pre-norm): queries ``q_b_proj(q_a_layernorm(q_a_proj(x)))`` (or one ``q_proj`` when ``q_lora_rank`` is
None), keys and values from a compressed latent, ``kv_a_proj_with_mqa(x)`` = ``[c_kv | k_rope]``,
``kv_b_proj(kv_a_layernorm(c_kv))`` = per head ``[k_nope | v]``, and ``o_proj`` back to the model width. Every
projection of the chain is an attention input (IDIτ: each reads its input dimensions, replicated where it widens; the
query's last one, ``q_b_proj`` or ``q_proj``, is scaled by ``idinit_query_scale``), ``o_proj`` is IDIZε, the two latent
norms keep the library's 1. The first ``first_k_dense_replace`` blocks have a dense gated MLP; the others a
``…MoE`` of stacked experts (as Mixtral's), a sigmoid router with group-limited top-k (``e_score_correction_bias`` is
a buffer: the library's 0), and ``shared_experts``, a dense gated MLP added without a gate (``idinit_shared_experts``).
DeepSeek-V2 (softmax router), GLM-4-MoE-Lite (``mlp_layer_types``) and Sarvam-MLA (DeepSeek-V3's classes, queries
without a latent by default) share the layout. ``model_types`` lists every model type of the installed transformers
with exactly this layout
(``tests/families/test_moe_layouts.py``).
"""

from ..roles import QUERY, Role, Slot
from ._blocks import NORM, gated_mlp_slots
from .family import Family
from .mixtral import BLOCK_NORMS, DENSE_MLP_SLOTS, EXPERT_SLOTS, MIXTRAL, OUTER_SLOTS, ROUTER

#: Multi-head latent attention.
MLA_SLOTS = (
    Slot("Attention", "q_proj", Role.ATTENTION_IN, heads=QUERY),  # q_lora_rank None
    Slot("Attention", "q_a_proj", Role.ATTENTION_IN),
    Slot("Attention", "q_a_layernorm", Role.NORM, params=NORM),
    Slot("Attention", "q_b_proj", Role.ATTENTION_IN, heads=QUERY),
    Slot("Attention", "kv_a_proj_with_mqa", Role.ATTENTION_IN),
    Slot("Attention", "kv_a_layernorm", Role.NORM, params=NORM),
    Slot("Attention", "kv_b_proj", Role.ATTENTION_IN),
    Slot("Attention", "o_proj", Role.ATTENTION_OUT),
)
#: The shared experts of the mixture, a dense gated MLP added to the routed experts' output (found from the block: the
#: mixture is ``DeepseekV3MoE``, ``DeepseekV2Moe``, ``Glm4MoeLiteMoE``).
SHARED_EXPERTS_SLOTS = gated_mlp_slots("DecoderLayer", prefix="mlp.shared_experts.", option="shared_experts")


def _scale(depth: int, width: int) -> dict:
    """Heads of width 16 (no grouping: MLA expands every head from the latent), latents of half the width, the
    rotary part a quarter of a head; the first block dense (Llama's MLP width), then 4 fine-grained experts (a quarter
    of it) with 2 per token in 2 groups, and one shared expert of the same width."""
    sizes = MIXTRAL.scale(depth, width)
    heads, head = sizes["num_attention_heads"], sizes.pop("head_dim")  # MLA's head_dim is the rotary part's
    return dict(sizes, num_key_value_heads=heads, q_lora_rank=width // 2, kv_lora_rank=width // 2,
                qk_nope_head_dim=head - head // 4, qk_rope_head_dim=head // 4, v_head_dim=head,
                first_k_dense_replace=1, n_shared_experts=1, n_group=2, topk_group=1)


DEEPSEEK_V3 = Family(
    name="deepseek_v3",
    model_types=("deepseek_v3", "deepseek_v2", "glm4_moe_lite", "sarvam_mla"),
    block="DecoderLayer",
    norm_position="pre",
    slots=(*MLA_SLOTS, ROUTER, *EXPERT_SLOTS, *SHARED_EXPERTS_SLOTS, *DENSE_MLP_SLOTS, *BLOCK_NORMS, *OUTER_SLOTS),
    pretraining="AutoModelForCausalLM",
    # 2 blocks: the first dense, the second a mixture of 4 experts in 2 groups (1 group chosen), 2 per token, each
    # expert wider than the model (40: its IDIZε cancels exactly; the routed output is scaled by 2.5, so fine-grained
    # experts, whose ±ε rows do not cancel, leave ~1e-4 at this size: tests/families/test_moe_layouts.py)
    example=dict({k: v for k, v in MIXTRAL.example.items() if k != "head_dim"}, moe_intermediate_size=40,
                 num_key_value_heads=4, q_lora_rank=8, kv_lora_rank=8, qk_nope_head_dim=4,
                 qk_rope_head_dim=2, v_head_dim=4, first_k_dense_replace=1, n_shared_experts=1, n_group=2,
                 topk_group=1),
    scale=_scale,
    fit=MIXTRAL.fit,
    dropout=MIXTRAL.dropout,
    option_defaults=MIXTRAL.option_defaults,
)
