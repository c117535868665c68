"""The roles a layer plays in a transformer, the slots that locate them, and the rule each role gets.

A *family* (:class:`idinit_hf.families.Family`) is a table of :class:`Slot` s: "the attribute ``c_fc`` of every
``GPT2MLP`` is the MLP input projection, stored transposed". This module says what each role becomes under
IDInit (:func:`rule_for`); :mod:`idinit_hf.init` says what each rule writes. Adding an architecture means
adding a table, never an if-chain on parameter names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:  # roles are data: they need no option at import time
    from .options import IDInitOptions

__all__ = ["Role", "Rule", "Slot", "FIXED_RULES", "OPTION_RULES", "rule_for", "QUERY", "KEY_VALUE", "ClassName",
           "by_class_name"]


class Role(str, Enum):
    """What a layer does in the network (docs/method.md §5)."""

    ATTENTION_IN = "attention_in"  # Q, K, V projections
    ATTENTION_OUT = "attention_out"  # last layer of the attention branch
    MLP_IN = "mlp_in"  # up-projection
    MLP_GATE = "mlp_gate"  # the gate of a gated MLP: down(act(gate(h)) * up(h))
    MLP_OUT = "mlp_out"  # down-projection: last layer of the MLP branch
    EMBEDDING = "embedding"  # token, position and token-type tables, ViT class token and positions
    PATCH_EMBEDDING = "patch_embedding"  # ViT's patchifying convolution
    NORM = "norm"  # LayerNorm: always the library default (1 / 0)
    POOLER = "pooler"
    HEAD = "head"  # task heads and their transforms
    EMBEDDING_PROJECTION = "embedding_projection"  # embedding width → model width (ELECTRA, RoFormer, DeBERTa-v2)
    RELATIVE_POSITION = "relative_position"  # a table of relative-position embeddings (DeBERTa-v2's rel_embeddings)
    POSITION_PROJECTION = "position_projection"  # relative positions → keys / queries (DeBERTa-v2's pos_*_proj)
    BRANCH_OUT = "branch_out"  # last layer of a residual branch besides the blocks' own (DeBERTa-v2's conv branch)


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
    Role.BRANCH_OUT: Rule.IDIZ,
}
#: Roles the paper leaves open: the option (field of IDInitOptions) that chooses their rule.
OPTION_RULES: dict[Role, str] = {
    Role.EMBEDDING: "embeddings",
    Role.PATCH_EMBEDDING: "patch_embedding",
    Role.MLP_GATE: "gate",
    Role.POOLER: "pooler",
    Role.HEAD: "heads",
    Role.EMBEDDING_PROJECTION: "embedding_projection",
    Role.RELATIVE_POSITION: "relative_positions",
    Role.POSITION_PROJECTION: "position_projections",
}
assert FIXED_RULES.keys() | OPTION_RULES.keys() == set(Role)


#: ``Slot.heads`` values: a per-head projection whose pattern depends on the attention's head layout.
QUERY, KEY_VALUE = "query", "key_value"


@dataclass(frozen=True)
class ClassName:
    """Module classes named ``<model prefix><suffix>``, and not ``<model prefix><x><suffix>`` for an ``x`` of
    ``not_after``: ``ClassName("Output", not_after=("Self",))`` matches ``RobertaOutput`` (the MLP's output) but
    not ``RobertaSelfOutput`` (the attention's), which a plain suffix ``"Output"`` would match too."""

    suffix: str
    not_after: tuple[str, ...] = ()

    def matches(self, class_name: str) -> bool:
        if not class_name.endswith(self.suffix):
            return False
        return not class_name[: len(class_name) - len(self.suffix)].endswith(self.not_after)


def _matches(module: nn.Module, owner: type[nn.Module] | str | ClassName) -> bool:
    """``owner`` is a module type, the suffix of a class name (``"MLP"`` matches ``LlamaMLP``, ``Qwen2MLP``) or a
    :class:`ClassName`: the generated classes of the models of one layout do not subclass each other, so one table
    names them by suffix."""
    if isinstance(owner, ClassName):
        return owner.matches(type(module).__name__)
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
        stacked: the output rows stack equal blocks of these roles, each written by its own role's rule
            (ModernBERT's ``Wi`` = the activated half | the linear half: ``(MLP_GATE, MLP_IN)``, so that
            ``idinit_gate`` applies to the first half). Empty: the weight is one role's (``role``).
    """

    owner: type[nn.Module] | str | ClassName
    path: str
    role: Role
    params: tuple[str, ...] = ("weight",)
    transposed: bool = False
    fused: bool = False
    tied: bool = False
    heads: str = ""
    stacked: tuple[Role, ...] = ()

    def owned_by(self, module: nn.Module) -> bool:
        return _matches(module, self.owner)


def rule_for(slot: Slot, options: IDInitOptions, *, tied_embeddings: bool) -> Rule:
    """The rule IDInit applies to ``slot`` under ``options`` (the role → rule table above)."""
    if slot.tied and tied_embeddings:
        return Rule.TIED
    if slot.role in FIXED_RULES:
        return FIXED_RULES[slot.role]
    return Rule(getattr(options, OPTION_RULES[slot.role]))


def by_class_name(slots: tuple[Slot, ...], prefix: str) -> tuple[Slot, ...]:
    """``slots`` with every module-type owner named by its class name less ``prefix`` instead: BERT's table
    (``BertSelfOutput``, ``BertOutput``, …) becomes one that finds the same modules in every model that generates
    its own copies of BERT's classes (``RobertaSelfOutput``, ``ElectraOutput``, …). An owner whose suffix ends another
    owner's suffix excludes that one (``BertOutput`` → ``ClassName("Output", not_after=("Self",))``)."""
    suffixes = {slot.owner.__name__.removeprefix(prefix) for slot in slots if isinstance(slot.owner, type)}

    def renamed(owner: type) -> ClassName:
        suffix = owner.__name__.removeprefix(prefix)
        longer = sorted(other[: -len(suffix)] for other in suffixes if other != suffix and other.endswith(suffix))
        return ClassName(suffix, tuple(longer))

    return tuple(replace(slot, owner=renamed(slot.owner)) if isinstance(slot.owner, type) else slot for slot in slots)
