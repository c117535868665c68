"""The roles a layer plays in a transformer, the slots that locate them, and the rule each role gets.

A *family* (:class:`idinit_hf.families.Family`) is a table of :class:`Slot` s: "the attribute ``c_fc`` of every
``GPT2MLP`` is the MLP input projection, stored transposed". This module says what each role becomes under
IDInit (:func:`rule_for`); :mod:`idinit_hf.init` says what each rule writes. Adding an architecture means
adding a table, never an if-chain on parameter names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:  # roles are data: they need no option at import time
    from .options import IDInitOptions

__all__ = ["Role", "Rule", "Slot", "FIXED_RULES", "OPTION_RULES", "rule_for", "QUERY", "KEY_VALUE", "GAIN_ROLES",
           "NORMED_OUT_OPTION"]


class Role(str, Enum):
    """What a layer does in the network (docs/method.md §5)."""

    ATTENTION_IN = "attention_in"  # Q, K, V projections
    ATTENTION_OUT = "attention_out"  # last layer of the attention branch
    MLP_IN = "mlp_in"  # up-projection
    MLP_GATE = "mlp_gate"  # the gate of a gated MLP: down(act(gate(h)) * up(h))
    MLP_OUT = "mlp_out"  # down-projection: last layer of the MLP branch
    EMBEDDING = "embedding"  # token, position and token-type tables, ViT class token and positions
    PATCH_EMBEDDING = "patch_embedding"  # the stem convolution: ViT's patchifying one, a ResNet's 7 x 7
    NORM = "norm"  # LayerNorm: always the library default (1 / 0)
    POOLER = "pooler"
    HEAD = "head"  # task heads and their transforms
    ATTENTION_OUT_NORM = "attention_out_norm"  # a norm on the attention branch's output, x + norm(attn(x)): its gain
    MLP_OUT_NORM = "mlp_out_norm"  # a norm on the MLP branch's output, x + norm(mlp(x)): its gain
    LAYER_SCALE = "layer_scale"  # a per-channel gain that ends a residual branch, x + g ⊙ f(x) (ConvNeXt, DINOv2)
    DOWNSAMPLE = "downsample"  # a main-stem convolution that changes width or resolution (projection shortcut)


class Rule(str, Enum):
    """What IDInit writes into a slot's parameters (formulas in :mod:`idinit_hf.init`)."""

    IDI = "idi"  # IDIτ (+ loosening where rows are replicated), bias 0
    IDIZ = "idiz"  # IDIZε, bias 0
    IDIC = "idic"  # IDICτ on a convolution kernel (+ loosening where rows are replicated), bias 0
    ZERO = "zero"  # weight and bias 0
    DEFAULT = "default"  # the model's own initialization, untouched
    TIED = "tied"  # shares its weight with the input embedding: initialized there, never here


#: Roles whose rule is fixed by the method (§1, §3, §5).
FIXED_RULES: dict[Role, Rule] = {
    Role.ATTENTION_IN: Rule.IDI,
    Role.ATTENTION_OUT: Rule.IDIZ,
    Role.MLP_IN: Rule.IDI,
    Role.MLP_OUT: Rule.IDIZ,
    Role.NORM: Rule.DEFAULT,
}
#: Roles the paper leaves open: the option (field of IDInitOptions) that chooses their rule.
OPTION_RULES: dict[Role, str] = {
    Role.EMBEDDING: "embeddings",
    Role.PATCH_EMBEDDING: "patch_embedding",
    Role.MLP_GATE: "gate",
    Role.POOLER: "pooler",
    Role.HEAD: "heads",
    Role.ATTENTION_OUT_NORM: "branch_norm",
    Role.MLP_OUT_NORM: "branch_norm",
    Role.LAYER_SCALE: "layer_scale",
    Role.DOWNSAMPLE: "downsample",
}
#: The option that chooses the rule of a branch's last linear layer when a norm follows it (``Slot.normed``).
NORMED_OUT_OPTION = "normed_out"
#: Roles whose parameters are a norm's gain: IDIZε writes :func:`idinit_hf.init.idiz_gain_` there.
GAIN_ROLES = frozenset({Role.ATTENTION_OUT_NORM, Role.MLP_OUT_NORM})
assert FIXED_RULES.keys() | OPTION_RULES.keys() == set(Role)


#: ``Slot.heads`` values: a per-head projection whose pattern depends on the attention's head layout.
QUERY, KEY_VALUE = "query", "key_value"


def _matches(module: nn.Module, owner: type[nn.Module] | tuple[type[nn.Module], ...] | str) -> bool:
    """``owner`` is a module type (or a tuple of them: ResNet's basic and bottleneck layers), or the suffix of a class
    name (``"MLP"`` matches ``LlamaMLP``, ``Qwen2MLP``): the generated classes of Llama-family models do not subclass
    each other, so one table names them by suffix."""
    if isinstance(owner, str):
        return type(module).__name__.endswith(owner)
    return isinstance(module, owner)


@dataclass(frozen=True)
class Slot:
    """Where a role lives: the module at ``path`` inside every module of type ``owner``.

    Attributes:
        owner: the module type to look in (``GPT2MLP``), or a class-name suffix (``"MLP"``) for families whose
            models each generate their own classes.
        path: dotted attribute path from the owner to the module holding the parameters (``"c_fc"``);
            ``""`` is the owner itself.
        role: the :class:`Role` of those parameters.
        params: the names of the parameters the rule writes (direct parameters of that module).
        transposed: the weight is stored ``in x out`` (GPT-2's ``Conv1D``); rules see ``weight.t()``.
        fused: the output dimension stacks ``in x in`` projections (GPT-2's ``c_attn`` = Q|K|V); each block
            gets its own pattern and no loosening (its rows are not replicas of each other).
        tied: the weight may be tied to the input embedding (``lm_head``, BERT's decoder).
        heads: ``"query"`` for the attention's query projection, or a fused Q|K|V weight (its first block):
            its IDIτ is scaled by ``idinit_query_scale``. ``"key_value"`` for the key and value projections of
            grouped-query attention (the ``idinit_gqa`` option chooses which query heads their identity lines up
            with); the owner must have ``head_dim`` and ``num_key_value_groups`` attributes.
        gain_offset: for a norm, what it adds to its ``weight`` to get its gain: 0 (``w ⊙ x̂``, the library init
            ``w = 1``) or 1 (Gemma's RMSNorm: ``(1 + w) ⊙ x̂``, init ``w = 0``). A gain of ε is ``w = ε − offset``.
        normed: the layer's output goes through a norm before the residual add (``x + norm(o_proj(·))``: OLMo 2,
            Gemma 2): the norm undoes IDIZε here, so the rule is the ``idinit_normed_out`` option's and the zero-
            preserving element is the norm's gain (roles ``ATTENTION_OUT_NORM`` / ``MLP_OUT_NORM``).
    """

    owner: type[nn.Module] | str
    path: str
    role: Role
    params: tuple[str, ...] = ("weight",)
    transposed: bool = False
    fused: bool = False
    tied: bool = False
    heads: str = ""
    gain_offset: float = 0.0
    normed: bool = False

    def owned_by(self, module: nn.Module) -> bool:
        return _matches(module, self.owner)


def rule_for(slot: Slot, options: IDInitOptions, *, tied_embeddings: bool) -> Rule:
    """The rule IDInit applies to ``slot`` under ``options`` (the role → rule table above)."""
    if slot.tied and tied_embeddings:
        return Rule.TIED
    if slot.normed:
        return Rule(getattr(options, NORMED_OUT_OPTION))
    if slot.role in FIXED_RULES:
        return FIXED_RULES[slot.role]
    return Rule(getattr(options, OPTION_RULES[slot.role]))
