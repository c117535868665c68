"""The VaultGemma layout: Gemma's pre-norm decoder with its norms named as in Gemma 2, and no norm after a branch.

Block: ``h = x + o_proj(attn(input_layernorm(x)))``, ``out = h + down_proj(mlp(pre_feedforward_layernorm(h)))`` with
Llama's gated MLP (GELU-tanh), grouped-query attention with logit soft-capping, embeddings scaled by √d and Gemma's
``(1 + w)`` RMSNorm. The branches end in a linear layer, as in the Llama layout, so IDIZε on ``o_proj`` and
``down_proj`` makes every block the identity at init. (transformers names its MLP norm ``pre_feedforward_layernorm``
and has no ``post_attention_layernorm``, so the Llama table does not find it.)
"""

from dataclasses import replace

from ..roles import Role
from .gemma2 import GEMMA2
from .llama import LLAMA

#: The Llama family (its block, example, sizes, dropout and option defaults) with this table.
VAULTGEMMA = replace(
    LLAMA,
    name="vaultgemma",
    model_types=("vaultgemma",),
    slots=(
        *(slot for slot in LLAMA.slots if slot.owner in ("Attention", "MLP") and slot.role is not Role.NORM),
        *(slot for slot in GEMMA2.slots if slot.path in ("input_layernorm", "pre_feedforward_layernorm", "norm")),
        *(slot for slot in LLAMA.slots if slot.role in (Role.EMBEDDING, Role.HEAD)),
    ),
)
