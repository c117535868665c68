"""The OLMo 2 layout: norms at the END of each residual branch and none at its input.

Block: ``h = x + post_attention_layernorm(o_proj(attn(x)))``, ``out = h + post_feedforward_layernorm(mlp(h))`` with
Llama's gated MLP and grouped-query attention, ``q_norm`` / ``k_norm`` on the query and key projections (RMSNorm over
all heads in OLMo 2/3, over ``head_dim`` in EXAONE 4). The norm rescales whatever the branch computes to unit size, so
IDIZε on ``o_proj`` / ``down_proj`` would be undone (a branch of RMS ε comes out of the norm at ε/√(ε² + eps)); the
zero-preserving element of such a branch is the norm's GAIN (roles ``ATTENTION_OUT_NORM`` / ``MLP_OUT_NORM``: a
gain of ε, :func:`idinit_hf.init.idiz_gain_`, option ``idinit_branch_norm``), and the branch's last linear layer gets
the rule of ``idinit_normed_out`` (``Slot.normed``). Every block is then the identity at init up to ε/RMS(x).

``model_types`` lists every model type of the installed transformers with exactly this layout;
``tests/families/test_olmo2.py::test_every_olmo2_layout_model_type_is_covered`` finds them and checks the list.
FlexOlmo has the same norms around a mixture of experts (a table of its own, with the expert initializers).
"""

from dataclasses import replace

from ..roles import Role, Slot
from .family import LOOSENED_REPLICAS
from .llama import LLAMA, LLAMA_LAYOUT_DEFAULTS


def _llama(path: str) -> Slot:
    """The Llama table's slot at ``path`` (the same module under the same class-name suffix)."""
    return next(slot for slot in LLAMA.slots if slot.path == path)


#: Both layouts whose branches end in a norm mark the last linear layer of each branch as ``normed``.
NORMED_O_PROJ = replace(_llama("o_proj"), normed=True)
NORMED_DOWN_PROJ = replace(_llama("down_proj"), normed=True)

#: GPT-2's loosening (``LOOSENED_REPLICAS``: every entry of a tall IDIτ, relative to an identity row) at 2.0 instead
#: of 0.5 on the gated MLP's gate and up, whose noise is then twice an identity row's norm; the untied IDIτ head at a
#: quarter of that, GPT-2's 0.5 (issue 19: of 0.5, 1, 2 and 4, 2 is the best, and it pays in the MLP).
OLMO2_LOOSENING: tuple[tuple[str, object], ...] = (
    *dict(LOOSENED_REPLICAS, loosening=2.0).items(), ("head_loosening_factor", 0.25))

#: The Llama family (its block, example, sizes and dropout) with this table.
OLMO2 = replace(
    LLAMA,
    name="olmo2",
    model_types=("olmo2", "olmo3", "exaone4"),
    norm_position="pre",  # the residual stream is never normalized: x + norm(f(x)) is an identity at init
    slots=(
        _llama("q_proj"), _llama("k_proj"), _llama("v_proj"),
        NORMED_O_PROJ,
        _llama("q_norm"), _llama("k_norm"),
        _llama("gate_proj"), _llama("up_proj"),
        NORMED_DOWN_PROJ,
        Slot("DecoderLayer", "post_attention_layernorm", Role.ATTENTION_OUT_NORM),  # RMSNorm: gain w (init 1)
        Slot("DecoderLayer", "post_feedforward_layernorm", Role.MLP_OUT_NORM),
        *(slot for slot in LLAMA.slots if slot.role in (Role.EMBEDDING, Role.HEAD) or slot.owner == "Model"),
    ),
    # The Llama family's IDIτ untied LM head (the library head: 2.52 against 2.41 at 4 layers, 3/3 seeds). The post-norm
    # options keep the table's defaults (OPTION_SPECS), chosen on this layout, 3 seeds: the ε in the gains, the
    # library init in o_proj / down_proj (validation 2.27 / 2.19 at 4 / 16 layers; IDIZε 2.28 / 2.21, IDIτ 2.41 / 2.38;
    # the default init 2.61 / 2.99). Issue 19, against torchtitan's depth init (2.00 at 16 layers): a zero query
    # (uniform attention at init, as GPT-2's) and GPT-2's loosening (LOOSENED_REPLICAS), which pay together: 16 / 4
    # layers, 3 seeds, validation 2.02 / 2.19 against 2.19 / 2.27 (Q = I, the paper's loosening), every seed; Q = 0
    # alone 2.06 / 2.20, the loosening alone 2.20 at 16. Llama and Gemma 2 are better with Q = I. Then a loosening 4x
    # GPT-2's on the MLP (OLMO2_LOOSENING), the head's kept: 1.96 against 2.02 at 16 layers, every seed, ahead of
    # depth-init's 2.00 (GPT-2, Llama and Gemma 2 are level or worse with a loosening of 2). docs/defaults.md
    option_defaults=(*LLAMA_LAYOUT_DEFAULTS, ("query_scale", 0.0), *OLMO2_LOOSENING),
)
