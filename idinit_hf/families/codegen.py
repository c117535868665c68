"""CodeGen: GPT-J's parallel block with one fused ``qkv_proj`` in CodeGen's own row order.

``qkv_proj`` (``3d x d``) was written for 4 model-parallel shards (``mp_num``): its output is viewed as ``mp_num``
blocks of ``3·d/mp_num`` rows, and block ``s`` holds the ``s``-th slice of the **query, value and key** rows, in that
order (``query, value, key = qkv.split(local_dim)`` in ``CodeGenAttention.forward``). Each row gets the IDIτ row a
separate projection would have (the ``"sharded"`` layout of :func:`idinit_hf.init.idi_qkv_`), so query, key and value
head ``h`` all read the input dimensions of head ``h``. The rest is GPT-J's table.
"""

from functools import partial

from ..roles import FusedQKV
from . import _causal
from ._blocks import fused_attention_slots
from .family import Family
from .gptj import EXAMPLE, MLP_SLOTS, STEM_SLOTS

CODEGEN = Family(
    name="codegen",
    model_types=("codegen",),
    block="Block",
    norm_position="pre",
    slots=(
        *fused_attention_slots("Attention",
                               FusedQKV("sharded", heads="num_attention_heads", head_dim="head_dim", shards="mp_num"),
                               fused="qkv_proj", out="out_proj"),
        *MLP_SLOTS,
        *STEM_SLOTS,
    ),
    pretraining="AutoModelForCausalLM",
    example=EXAMPLE,  # width 16 in 4 shards of 4 rows per projection
    scale=partial(_causal.scale, mlp="n_inner"),
    fit=_causal.fit,
    dropout=("resid_pdrop", "embd_pdrop", "attn_pdrop"),
)
