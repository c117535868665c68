"""GPT-J: attention and MLP in parallel from one LayerNorm, with separate query, key and value projections.

Block: ``x + out_proj(attn(ln_1(x))) + fc_out(act(fc_in(ln_1(x))))``: both branches read the same normed input and
end in IDIZε, so the block is the identity at init (the two ε-sized branch outputs add). No biases in the attention;
the LM head is untied and has a bias (the ``idinit_heads`` option, as every untied head).
"""

from functools import partial

from ..roles import Role, Slot
from . import _causal
from ._blocks import attention_slots, mlp_slots, norm_slots
from .family import Family

#: The attention and MLP of GPT-J's block (CodeGen's table reuses them).
MLP_SLOTS = mlp_slots("MLP", "fc_in", "fc_out")
STEM_SLOTS = (
    *norm_slots("Block", "ln_1"),
    Slot("Model", "wte", Role.EMBEDDING, token_table=True),
    *norm_slots("Model", "ln_f"),
    *_causal.HEADS,
)
#: 4 heads of 4, rotary on every head dimension (rotary_dim must not exceed the head width)
EXAMPLE = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, rotary_dim=4, max_position_embeddings=32,
               **_causal.EXAMPLE_TOKENS)

GPTJ = Family(
    name="gptj",
    model_types=("gptj",),
    block="Block",
    norm_position="pre",
    slots=(
        *attention_slots("Attention", out="out_proj"),
        *MLP_SLOTS,
        *STEM_SLOTS,
    ),
    pretraining="AutoModelForCausalLM",
    example=EXAMPLE,
    scale=partial(_causal.scale, mlp="n_inner"),
    fit=_causal.fit,
    dropout=("resid_pdrop", "embd_pdrop", "attn_pdrop"),
)
