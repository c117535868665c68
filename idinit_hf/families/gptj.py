"""GPT-J: attention and MLP in parallel from one LayerNorm, with separate query, key and value projections.

Block: ``x + out_proj(attn(ln_1(x))) + fc_out(act(fc_in(ln_1(x))))``: both branches read the same normed input and
end in IDIZε, so the block is the identity at init (the two ε-sized branch outputs add). No biases in the attention;
the LM head is untied and has a bias (the ``idinit_heads`` option, as every untied head).
"""

from functools import partial

from ..roles import QUERY, Role, Slot
from . import _causal
from .family import Family

#: The attention and MLP of GPT-J's block (CodeGen's table reuses them).
MLP_SLOTS = (
    Slot("MLP", "fc_in", Role.MLP_IN),
    Slot("MLP", "fc_out", Role.MLP_OUT),
)
STEM_SLOTS = (
    Slot("Block", "ln_1", Role.NORM, params=_causal.NORM),
    Slot("Model", "wte", Role.EMBEDDING, token_table=True),
    Slot("Model", "ln_f", Role.NORM, params=_causal.NORM),
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
        Slot("Attention", "q_proj", Role.ATTENTION_IN, heads=QUERY),
        Slot("Attention", "k_proj", Role.ATTENTION_IN),
        Slot("Attention", "v_proj", Role.ATTENTION_IN),
        Slot("Attention", "out_proj", Role.ATTENTION_OUT),
        *MLP_SLOTS,
        *STEM_SLOTS,
    ),
    pretraining="AutoModelForCausalLM",
    example=EXAMPLE,
    scale=partial(_causal.scale, mlp="n_inner"),
    fit=_causal.fit,
    dropout=("resid_pdrop", "embd_pdrop", "attn_pdrop"),
)
