"""The Gemma 4 "unified" text decoder: the Gemma 2 sandwich layout with plain RMSNorm gains.

Block: ``h = x + post_attention_layernorm(o_proj(attn(input_layernorm(x))))``,
``out = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))``, then a ``layer_scalar`` buffer (1 at
init), with Gemma's gated MLP, ``q_norm`` / ``k_norm`` (and a gain-free ``v_norm``) over ``head_dim`` and attention
scaling 1. Unlike Gemma 2/3 its RMSNorm computes ``w ⊙ x̂`` with ``w`` initialized to 1, so its slots are the Gemma 2
table's with a gain offset of 0: the ε gain that ends each branch is written ``w = ε``. Full-attention layers have
their own head size (``global_head_dim``, 512 by default) and, with ``attention_k_eq_v`` or ``num_kv_shared_layers``,
no value or no key/value projections: a slot whose module is absent is skipped, and the head layout is read from
each attention module.
"""

from dataclasses import replace

from .family import Family
from .gemma2 import GEMMA2
from .llama import LLAMA


def _scale(depth: int, width: int) -> dict:
    """The Llama family's sizes, full-attention layers with the same head size as the sliding ones."""
    sizes = LLAMA.scale(depth, width)
    return {**sizes, "global_head_dim": sizes["head_dim"]}


GEMMA4_UNIFIED = Family(
    name="gemma4_unified",
    model_types=("gemma4_unified_text",),
    block="DecoderLayer",
    norm_position="pre",
    slots=tuple(replace(slot, gain_offset=0.0) for slot in GEMMA2.slots),
    option_defaults=GEMMA2.option_defaults,  # the sandwich layout's, measured on Gemma 2 (not on this model type)
    pretraining="AutoModelForCausalLM",
    example={**LLAMA.example, "global_head_dim": LLAMA.example["head_dim"]},
    scale=_scale,
    fit=LLAMA.fit,
    dropout=LLAMA.dropout,
)
