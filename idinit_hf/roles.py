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

__all__ = ["Role", "Rule", "Slot", "FusedQKV", "FIXED_RULES", "OPTION_RULES", "CROSS_ATTENTION_RULES", "rule_for",
           "QUERY", "KEY_VALUE", "gate_rule", "writes_whole", "GAIN_ROLES", "NORMED_OUT_OPTION", "FOLLOW_ROLE",
           "ClassName", "by_class_name"]


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
    NORM_1P = "norm_1p"  # a norm whose gain is 1 + w (Nemotron's LayerNorm1P): w = 0 is the unit gain of NORM
    ROUTER = "router"  # a mixture of experts' router (E x d logits) and a shared expert's scalar gate
    ATTENTION_SINK = "attention_sink"  # GPT-OSS's learned per-head sink logits: the library's init
    PLACEHOLDER_TOKEN = "placeholder_token"  # a learned vector that stands in for input (DINOv2's mask and registers)
    ATTENTION_OUT_NORM = "attention_out_norm"  # a norm on the attention branch's output, x + norm(attn(x)): its gain
    MLP_OUT_NORM = "mlp_out_norm"  # a norm on the MLP branch's output, x + norm(mlp(x)): its gain
    EMBEDDING_PROJECTION = "embedding_projection"  # embedding width → model width (ELECTRA, RoFormer, DeBERTa-v2)
    RELATIVE_POSITION = "relative_position"  # a table of relative-position embeddings (DeBERTa-v2's rel_embeddings)
    POSITION_PROJECTION = "position_projection"  # relative positions → keys / queries (DeBERTa-v2's pos_*_proj)
    BRANCH_OUT = "branch_out"  # last layer of a residual branch besides the blocks' own (DeBERTa-v2's conv branch)
    CROSS_ATTENTION_IN = "cross_attention_in"  # Q, K, V of an encoder-decoder's cross-attention (its output: ATTENTION_OUT)
    POSITION_BIAS = "position_bias"  # T5's relative attention bias table (buckets x heads), added to the logits
    LAYER_SCALE = "layer_scale"  # a per-channel gain that ends a residual branch, x + g ⊙ f(x) (ConvNeXt, DINOv2)
    DOWNSAMPLE = "downsample"  # a main-stem convolution that changes width or resolution (projection shortcut)


class Rule(str, Enum):
    """What IDInit writes into a slot's parameters (formulas in :mod:`idinit_hf.init`)."""

    IDI = "idi"  # IDIτ (+ loosening where rows are replicated), bias 0
    IDIZ = "idiz"  # IDIZε, bias 0
    IDIC = "idic"  # IDICτ on a convolution kernel (+ loosening where rows are replicated), bias 0
    SMALL = "small"  # N(0, 2/(5d)) drawn from a seeded generator (SmallInit), bias 0
    ZERO = "zero"  # weight and bias 0
    DEFAULT = "default"  # the model's own initialization, untouched
    TIED = "tied"  # shares its weight with the input embedding: initialized there, never here


#: Roles whose rule is fixed by the method (§1, §3, §5).
FIXED_RULES: dict[Role, Rule] = {
    Role.ATTENTION_IN: Rule.IDI,
    Role.ATTENTION_OUT: Rule.IDIZ,
    Role.MLP_IN: Rule.IDI,
    Role.NORM: Rule.DEFAULT,
    # the method's norms have gain 1 and shift 0 (§5); with a gain of 1 + w that is w = 0, where the library writes
    # w = 1 (Nemotron's _init_weights: a gain of 2)
    Role.NORM_1P: Rule.ZERO,
    Role.ATTENTION_SINK: Rule.DEFAULT,
    # not a layer of the residual stream: a masked patch's or a register's vector, zeros in the library (an IDIτ row
    # would copy the class token's)
    Role.PLACEHOLDER_TOKEN: Rule.DEFAULT,
    Role.BRANCH_OUT: Rule.IDIZ,
}
#: Roles whose rule an option (a field of IDInitOptions) chooses: those the paper leaves open, and the MLP's last
#: layer (the paper's IDIZε by default; the library's init is the alternative the benchmark measures, issue 19).
OPTION_RULES: dict[Role, str] = {
    Role.EMBEDDING: "embeddings",
    Role.PATCH_EMBEDDING: "patch_embedding",
    Role.MLP_GATE: "gate",
    Role.MLP_OUT: "mlp_out",
    Role.POOLER: "pooler",
    Role.HEAD: "heads",
    Role.ROUTER: "router",
    Role.ATTENTION_OUT_NORM: "branch_norm",
    Role.MLP_OUT_NORM: "branch_norm",
    Role.EMBEDDING_PROJECTION: "embedding_projection",
    Role.RELATIVE_POSITION: "relative_positions",
    Role.POSITION_PROJECTION: "position_projections",
    Role.CROSS_ATTENTION_IN: "cross_attention",
    Role.POSITION_BIAS: "position_bias",
    Role.LAYER_SCALE: "layer_scale",
    Role.DOWNSAMPLE: "downsample",
}
#: The option that chooses the rule of a branch's last linear layer when a norm follows it (``Slot.normed``).
NORMED_OUT_OPTION = "normed_out"
#: Roles whose parameters are a norm's gain: IDIZε writes :func:`idinit_hf.init.idiz_gain_` there.
GAIN_ROLES = frozenset({Role.ATTENTION_OUT_NORM, Role.MLP_OUT_NORM})
assert FIXED_RULES.keys() | OPTION_RULES.keys() == set(Role)


#: Options that override :data:`OPTION_RULES` for the slots that carry a flag: the token table
#: (``Slot.token_table``) gets ``idinit_token_table`` unless that option says to follow its role's option.
FOLLOW_ROLE = "embeddings"

#: The values of ``idinit_cross_attention``: the rule of the cross-attention's query, and of its key and value.
#: ``idi`` is self-attention's rule (the query × ``idinit_query_scale``, or SmallInit under ``idinit_query``),
#: ``uniform`` a zero query (every target position attends uniformly to the source at init), ``default`` the
#: library's init. The output projection is IDIZε whatever this says (an ATTENTION_OUT slot), so a decoder block
#: stays an identity at init.
CROSS_ATTENTION_RULES: dict[str, tuple[Rule, Rule]] = {
    "idi": (Rule.IDI, Rule.IDI),
    "uniform": (Rule.ZERO, Rule.IDI),
    "default": (Rule.DEFAULT, Rule.DEFAULT),
}

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


def _matches(module: nn.Module,
             owner: type[nn.Module] | tuple[type[nn.Module], ...] | str | tuple[str, ...] | ClassName) -> bool:
    """``owner`` is a module type (or a tuple of them: ResNet's basic and bottleneck layers), the suffix of a class name (``"MLP"`` matches ``LlamaMLP``, ``Qwen2MLP``), a tuple
    of suffixes (any of them: an encoder-decoder's blocks, ``("EncoderLayer", "DecoderLayer")``) or a
    :class:`ClassName`: the generated classes of the models of one layout do not subclass each other, so one table
    names them by suffix."""
    if isinstance(owner, ClassName):
        return owner.matches(type(module).__name__)
    if isinstance(owner, str) or (isinstance(owner, tuple) and all(isinstance(o, str) for o in owner)):
        return type(module).__name__.endswith(owner)
    return isinstance(module, owner)


@dataclass(frozen=True)
class FusedQKV:
    """The row order of a fused Q|K|V projection, and where its owner module keeps its head counts.

    Attributes:
        layout: one of :data:`idinit_hf.init.QKV_LAYOUTS` (``"blocks"``, ``"interleaved"``, ``"sharded"``).
        heads: dotted attribute path, from the owner, to the number of query heads (``"config.num_attention_heads"``).
        kv_heads: the same for the number of key/value heads; ``""`` = as many as query heads.
        head_dim: the same for the width of one head.
        shards: the same for the number of row shards of the ``"sharded"`` layout (CodeGen's ``"mp_num"``).
    """

    layout: str
    heads: str
    head_dim: str
    kv_heads: str = ""
    shards: str = ""

    def read(self, owner: nn.Module) -> tuple[int, int, int, int]:
        """``(heads, kv_heads, head_dim, shards)`` of ``owner`` (an attention module)."""

        def value(path: str, default: int) -> int:
            if not path:
                return default
            found = owner
            for attribute in path.split("."):
                found = getattr(found, attribute)
            return int(found)

        heads = value(self.heads, 0)
        return heads, value(self.kv_heads, heads), value(self.head_dim, 0), value(self.shards, 1)


@dataclass(frozen=True)
class Slot:
    """Where a role lives: the module at ``path`` inside every module of type ``owner``.

    Attributes:
        owner: the module type to look in (``GPT2MLP``), or a class-name suffix (``"MLP"``) for families whose
            models each generate their own classes, or a tuple of suffixes (any of them).
        path: dotted attribute path from the owner to the module holding the parameters (``"c_fc"``);
            ``""`` is the owner itself.
        role: the :class:`Role` of those parameters.
        params: the names of the parameters the rule writes (direct parameters of that module).
        transposed: the weight is stored ``in x out`` (GPT-2's ``Conv1D``); rules see ``weight.t()``.
        fused: the output dimension stacks ``in x in`` projections (GPT-2's ``c_attn`` = Q|K|V); each block
            gets its own pattern and no loosening (its rows are not replicas of each other).
        tied: the weight may be tied to the input embedding (``lm_head``, BERT's decoder).
        token_table: the table of token ids (one row per vocabulary entry, the one an LM head may be tied to),
            as opposed to position and token-type tables: ``idinit_token_table`` may give it its own rule.
        heads: ``"query"`` for the attention's query projection, or a fused Q|K|V weight (its first block):
            its IDIτ is scaled by ``idinit_query_scale`` (``idinit_query="small"``: SmallInit instead).
            ``"key_value"`` for the key and value projections of grouped-query attention (the ``idinit_gqa``
            option chooses which query heads their identity lines up with); the owner must have ``head_dim`` and
            ``num_key_value_groups`` attributes.
        qkv: a fused Q|K|V projection with a per-head row order (:class:`FusedQKV`: GPT-NeoX, Falcon, Phi-3, …):
            each of its query, key and value rows gets the IDIτ row a separate projection would have
            (:func:`idinit_hf.init.idi_qkv_`), the query rows scaled by ``idinit_query_scale`` (or SmallInit rows,
            :func:`idinit_hf.init.small_init_query_rows_`).
        experts: the parameter stacks one weight per expert along dim 0 (``E x out x in``; ``E x in x out`` with
            ``transposed``, GPT-OSS): every expert gets the rule (``idinit_experts`` says how they differ).
        gate_up: the output dimension fuses a gate and an up projection (a mixture's experts, Phi-3's
            ``gate_up_proj``), ``"halves"`` (gate first) or
            ``"interleaved"`` (gate on the even rows): the gate part follows the gate's rule (``idinit_gate``),
            the up part the slot's role.
        biases: the bias parameters a writing rule sets to 0 (``gate_up_proj_bias`` of GPT-OSS's experts).
        option: an option (a field of the options) whose value ``"default"`` leaves this slot to the model's own
            init (``"shared_experts"``, ``"experts"``).
        gain_offset: for a norm, what it adds to its ``weight`` to get its gain: 0 (``w ⊙ x̂``, the library init
            ``w = 1``) or 1 (Gemma's RMSNorm: ``(1 + w) ⊙ x̂``, init ``w = 0``). A gain of ε is ``w = ε − offset``.
        normed: the layer's output goes through a norm before the residual add (``x + norm(o_proj(·))``: OLMo 2,
            Gemma 2): the norm undoes IDIZε here, so the rule is the ``idinit_normed_out`` option's and the zero-
            preserving element is the norm's gain (roles ``ATTENTION_OUT_NORM`` / ``MLP_OUT_NORM``).
        stacked: the output rows stack equal blocks of these roles, each written by its own role's rule
            (ModernBERT's ``Wi`` = the activated half | the linear half: ``(MLP_GATE, MLP_IN)``, so that
            ``idinit_gate`` applies to the first half). Empty: the weight is one role's (``role``).
    """

    owner: type[nn.Module] | tuple[type[nn.Module], ...] | str | tuple[str, ...] | ClassName
    path: str
    role: Role
    params: tuple[str, ...] = ("weight",)
    transposed: bool = False
    fused: bool = False
    tied: bool = False
    heads: str = ""
    qkv: FusedQKV | None = None
    experts: bool = False
    gate_up: str = ""
    biases: tuple[str, ...] = ("bias",)
    option: str = ""
    gain_offset: float = 0.0
    normed: bool = False
    token_table: bool = False
    stacked: tuple[Role, ...] = ()
    alias: bool = False
    unscaled_logits: str = ""

    def owned_by(self, module: nn.Module) -> bool:
        return _matches(module, self.owner)


def rule_for(slot: Slot, options: IDInitOptions, *, tied_embeddings: bool) -> Rule:
    """The rule IDInit applies to ``slot`` under ``options`` (the role → rule table above)."""
    if slot.tied and tied_embeddings:
        return Rule.TIED
    if slot.option and getattr(options, slot.option) == "default":
        return Rule.DEFAULT
    if slot.normed:
        return Rule(getattr(options, NORMED_OUT_OPTION))
    if slot.role in FIXED_RULES:
        rule = FIXED_RULES[slot.role]
    elif slot.token_table and options.token_table != FOLLOW_ROLE:
        return Rule(options.token_table)
    elif slot.role is Role.CROSS_ATTENTION_IN:
        query_rule, key_value_rule = CROSS_ATTENTION_RULES[getattr(options, OPTION_RULES[slot.role])]
        rule = query_rule if slot.heads == QUERY else key_value_rule
    else:
        rule = Rule(getattr(options, OPTION_RULES[slot.role]))
    # idinit_query="small": a query projection of its own is drawn; a fused Q|K|V weight stays IDIτ and draws its
    # query rows (patterns.py), so that its keys and values keep their identities
    if rule is Rule.IDI and slot.heads == QUERY and options.query == "small" and not slot.fused and slot.qkv is None:
        return Rule.SMALL
    return rule


def gate_rule(options: IDInitOptions) -> Rule:
    """The rule of a gate projection, and of the gate part of a fused gate|up weight (``idinit_gate``)."""
    return Rule(getattr(options, OPTION_RULES[Role.MLP_GATE]))


def writes_whole(slot: Slot, options: IDInitOptions) -> bool:
    """Whether a writing rule sets every entry of the slot's parameters. Not so for a fused gate|up weight whose gate
    is left to the library (``idinit_gate="default"``): the model's own init writes the whole tensor, then IDInit
    the up part."""
    return not (slot.gate_up and gate_rule(options) is Rule.DEFAULT)


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
