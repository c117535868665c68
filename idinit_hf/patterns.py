"""What IDInit writes into one layer: the role tags on modules, the parameters a rule owns, the seeds of the
loosening noise, and the pattern writer itself.

:mod:`idinit_hf.init` has the tensor formulas; :mod:`idinit_hf.roles` and ``families/`` say which layer gets which
rule; this module connects the two for one module at a time. It is pure with respect to transformers' loading
state except where a function says it reads the ``_is_hf_initialized`` flag, so :func:`idinit_hf.verify` can
rebuild the expected weights on fresh tensors with the very same code (:func:`write_pattern`).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from transformers import initialization as hf_init

from . import init as idinit
from .roles import GAIN_ROLES, KEY_VALUE, QUERY, Role, Rule, Slot, gate_rule, rule_for

if TYPE_CHECKING:  # the role tables import nothing from here
    from .families.family import Family

__all__ = [
    "INITIALIZED_FLAG", "is_initialized", "partitioned_parameters", "LocatedSlot", "locate_slots", "tag_roles", "tagged_slots", "layer_name", "recorded_seed", "aliased_slots",
    "slot_parameters", "layer_facts", "param_seed", "resolve_seed", "as_matrix", "write_pattern", "write_rule",
    "expert_matrices",
]

#: transformers' per-tensor and per-module flag: "loaded or already initialized, do not write".
INITIALIZED_FLAG = "_is_hf_initialized"
_SLOTS = "_idinit_slots"  # tuple[Slot, ...] on the module that holds the parameters
_NAME = "_idinit_name"  # its dotted name, relative to the base model (same in BertModel and BertForMaskedLM)
_SEED = "_idinit_seed"  # the loosening seed actually used, recorded for verify()
_HEADS = "_idinit_heads"  # (head_dim, query heads per key/value head) of a key/value projection
_QKV = "_idinit_qkv"  # (heads, key/value heads, head_dim, shards) of a fused Q|K|V projection
_INIT_STD = "_idinit_init_std"  # the model's initializer_range, for the library-init blocks of a stacked weight
_ALIASES = "_idinit_aliases"  # tuple[Slot, ...]: alias slots whose tensor another slot holds (Slot.alias)


def is_initialized(tensor: Any) -> bool:
    """Whether transformers flagged ``tensor`` (or a module) as loaded or initialized: IDInit must not write it."""
    return getattr(tensor, INITIALIZED_FLAG, False)


def partitioned_parameters(model: nn.Module) -> list[str]:
    """Names of DeepSpeed ZeRO-3 parameters outside ``GatheredParameters``: placeholders smaller than the weight,
    which can be neither read nor written as a whole."""
    return [name for name, param in model.named_parameters()
            if getattr(param, "ds_numel", None) is not None and param.numel() != param.ds_numel]


def tagged_slots(module: nn.Module) -> tuple[Slot, ...]:
    """The role slots a module was tagged with by :func:`tag_roles` (empty if none)."""
    return getattr(module, _SLOTS, ())


def layer_name(module: nn.Module) -> str:
    """The dotted name a tagged module had under its base model (what its loosening seed derives from)."""
    return getattr(module, _NAME, "")


def recorded_seed(module: nn.Module) -> int | None:
    """The base seed :func:`write_rule` used on ``module``, or None if it never wrote it."""
    return getattr(module, _SEED, None)


def _resolve(module: nn.Module, path: str) -> Any:
    for attribute in filter(None, path.split(".")):
        module = getattr(module, attribute, None)
        if module is None:
            return None
    return module


@dataclass(frozen=True)
class LocatedSlot:
    """One slot of a family's table found in a model: the module holding its parameters, and what a rule needs to
    know of it besides its tensors."""

    path: str  # dotted path from the model itself (what ``named_parameters`` prefixes)
    name: str  # dotted path from the base model: the same in BertModel and BertForMaskedLM (seeds derive from it)
    module: nn.Module
    slot: Slot
    # (head_dim, query heads per key/value head) of a key/value projection, or (head_dim, 1) of a query whose
    # attention does not scale its logits (Slot.unscaled_logits)
    heads: tuple[int, int] | None
    alias_of: str | None = None  # an alias slot holding the tensor of the slot found earlier at this path
    qkv: tuple[int, int, int, int] | None = None  # (heads, key/value heads, head_dim, shards) of a fused Q|K|V
    init_std: float | None = None  # the model's initializer_range, where a stacked weight may hold a library block


def locate_slots(model: nn.Module, family: Family) -> list[LocatedSlot]:
    """Every slot of ``family``'s table present in ``model``, in module order. Pure: reads, tags nothing."""
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    found = []
    holders: dict[int, str] = {}  # id of a parameter found so far → the path of the slot that holds it
    # a slot's owner is a class (or its name): matched once per module class, not once per module
    owned_slots: dict[type, list[Slot]] = {}
    for owner_path, owner in model.named_modules():
        slots = owned_slots.get(type(owner))
        if slots is None:
            slots = owned_slots[type(owner)] = [slot for slot in family.slots if slot.owned_by(owner)]
        for slot in slots:
            target = _resolve(owner, slot.path)
            if not isinstance(target, nn.Module) or not any(
                isinstance(getattr(target, p, None), nn.Parameter) for p in slot.params
            ):
                continue  # optional layer absent (no pooler, cross-attention off, nn.Identity head)
            path = ".".join(filter(None, (owner_path, slot.path)))
            # the attention module knows its head layout, the Linear does not
            heads = (int(owner.head_dim), int(owner.num_key_value_groups)) if slot.heads == KEY_VALUE else None
            if slot.unscaled_logits:
                heads = (int(_resolve(owner, slot.unscaled_logits)), 1)
            params = [id(p) for _, p in slot_parameters(target, slot, with_bias=False)]
            alias_of = holders.get(params[0]) if slot.alias else None
            if alias_of is None and not slot.tied:  # a tied head is never where its tensor is written
                for param in params:
                    holders.setdefault(param, path)
            qkv = slot.qkv.read(owner) if slot.qkv is not None else None
            found.append(LocatedSlot(path, path.removeprefix(prefix), target, slot, heads, alias_of, qkv,
                                     _init_std(owner) if slot.stacked else None))
    return found


def aliased_slots(module: nn.Module) -> tuple[Slot, ...]:
    """The alias slots of a tagged module whose tensor another slot holds (:attr:`Slot.alias`): written there."""
    return getattr(module, _ALIASES, ())


def _init_std(owner: nn.Module) -> float:
    """The std of the library's normal init of a Linear in ``owner``'s model: ``config.initializer_range``."""
    return float(getattr(getattr(owner, "config", None), "initializer_range", 0.02))


def tag_roles(model: nn.Module, family: Family) -> int:
    """Attach each slot of ``family`` found in ``model`` (:func:`locate_slots`) to the module that holds its
    parameters, for the per-module init pass; return the number of new tags."""
    count = 0
    for located in locate_slots(model, family):
        target = located.module
        if located.slot not in tagged_slots(target):
            setattr(target, _SLOTS, (*tagged_slots(target), located.slot))
            setattr(target, _NAME, located.name)
            if located.heads is not None:
                setattr(target, _HEADS, located.heads)
            if located.qkv is not None:
                setattr(target, _QKV, located.qkv)
            if located.init_std is not None:
                setattr(target, _INIT_STD, located.init_std)
            count += 1
        if located.alias_of is not None and located.slot not in aliased_slots(target):
            setattr(target, _ALIASES, (*aliased_slots(target), located.slot))  # tied since an earlier tagging
    return count


def slot_parameters(module: nn.Module, slot: Slot, *, with_bias: bool) -> Iterator[tuple[str, nn.Parameter]]:
    """The parameters a slot's rule writes: ``slot.params`` (and its biases, ``slot.biases``, when the rule resets
    them)."""
    names = (*slot.params, *(b for b in slot.biases if b not in slot.params)) if with_bias else slot.params
    for name in names:
        param = getattr(module, name, None)
        if isinstance(param, nn.Parameter):
            yield name, param


def layer_facts(module: nn.Module, located: LocatedSlot | None = None) -> dict[str, Any]:
    """What a rule needs to know of the layer besides its tensors: from ``located``, else from the module's tags."""
    return {
        "name": located.name if located is not None else layer_name(module),
        "is_conv": isinstance(module, nn.modules.conv._ConvNd),
        "groups": int(getattr(module, "groups", 1)) if isinstance(module, nn.modules.conv._ConvNd) else 1,
        "padding_idx": getattr(module, "padding_idx", None),
        "heads": located.heads if located is not None else getattr(module, _HEADS, None),
        "qkv": located.qkv if located is not None else getattr(module, _QKV, None),
        "init_std": located.init_std if located is not None else getattr(module, _INIT_STD, None),
    }


def resolve_seed(options: Any) -> int:
    """The base seed of the loosening noise: ``idinit_seed``, else the seed torch was last seeded with."""
    return options.seed if options.seed is not None else torch.initial_seed()


def param_seed(base: int, name: str) -> int:
    """A per-parameter seed: the same on every rank and device, whatever the order modules are visited in."""
    return (base * 1_000_003 + zlib.crc32(name.encode())) % (2**63 - 1)


def as_matrix(param: torch.Tensor, slot: Slot) -> torch.Tensor:
    """The ``out x in`` view a 2-D rule sees: transposed storage undone, leading dims of a table folded."""
    if slot.transposed:
        return param.t()
    if param.dim() > 2:  # ViT's (1, N+1, d) position table and (1, 1, d) class token
        return param.view(-1, param.shape[-1])
    return param


def loosening_std(options: Any, fan_in: int, *, tau_entries_only: bool = False, is_head: bool = False) -> float:
    """The std of the loosening noise (§2) on a weight whose rows have ``fan_in`` entries: ``idinit_loosening``,
    or with ``idinit_loosening_scale="fan_in"`` the std that moves each replicated row by ≈ loosening·τ at any
    width: loosening·τ/√fan_in when the noise is on every entry of the row (``idinit_loosening_target="all"``),
    loosening·τ when it is on the row's one τ entry (a replicated row of IDIτ / IDICτ holds one; the writers that
    perturb only τ entries whatever the target pass ``tau_entries_only``). A head (``Role.HEAD``, ``is_head``) takes
    ``idinit_loosening · idinit_head_loosening_factor``: 0 stays 0, the paper's 1e-6 stays tiny."""
    every_entry = options.loosening_target == "all" and not tau_entries_only
    size = options.loosening * (options.head_loosening_factor if is_head else 1.0)
    if options.loosening_scale == "fan_in":
        return size * options.tau / (math.sqrt(max(fan_in, 1)) if every_entry else 1.0)
    return size


def _replicated(matrix: torch.Tensor) -> bool:
    """IDIτ replicates rows when the output is larger than the input: where loosening is needed (§2)."""
    return matrix.shape[0] > matrix.shape[1]


@torch.no_grad()
def write_pattern(
    tensors: dict[str, torch.Tensor],
    slot: Slot,
    rule: Rule,
    options: Any,
    seed: int,
    *,
    name: str,
    is_conv: bool,
    padding_idx: int | None,
    heads: tuple[int, int] | None = None,
    qkv: tuple[int, int, int, int] | None = None,
    init_std: float | None = None,
    groups: int = 1,
) -> None:
    """Write ``rule`` into ``tensors`` (parameter name → tensor of one layer). Pure: reads no flag.

    The weights a rule writes depend only on the shapes, the options, the seed and the layer's name, so
    :func:`idinit_hf.verify` can rebuild them on fresh tensors and compare bit for bit.
    """
    for param_name, param in tensors.items():
        if param_name in slot.biases and (param_name not in slot.params or slot.params == (param_name,)):
            hf_init.zeros_(param)  # biases are 0 under every rule (§1), a head's bias kept apart from its layer too
        elif rule is Rule.ZERO:
            hf_init.zeros_(param)
        elif slot.experts or slot.gate_up:
            _write_experts(param, slot, rule, options, param_seed(seed, f"{name}.{param_name}"))
        elif rule is Rule.IDIZ and slot.role in GAIN_ROLES:  # a norm's gain: ε where it scales the branch
            idinit.idiz_gain_(param, options.epsilon, offset=slot.gain_offset, pattern=options.gain_pattern)
        elif rule is Rule.IDIZ:
            if is_conv and options.conv == "centred":
                idinit.idizc_centred_(param, options.epsilon, groups=groups, pattern=options.zero_pattern)
            elif is_conv:
                idinit.idizc_(param, options.epsilon, pattern=options.zero_pattern)
            else:
                idinit.idiz_(as_matrix(param, slot), options.epsilon, pattern=options.zero_pattern)
        elif rule in (Rule.IDI, Rule.IDIC):
            _write_identity(param, slot, options, param_seed(seed, f"{name}.{param_name}"), is_conv, heads,
                            qkv=qkv, init_std=init_std, groups=groups)
        elif rule is Rule.SMALL:
            generator = torch.Generator().manual_seed(param_seed(seed, f"{name}.{param_name}"))
            # a stem draws with the model width (its output rows), as GPT-NeoX does: its output keeps ≈ √(2/5) of a
            # patch's norm whatever the patch size (issue 19: with the fan-in of a 2 x 2 patch, std 0.32, the 8 x 8
            # digits trained worse); a head's or a table's model width is its fan-in (the default of small_init_)
            stem = slot.role is Role.PATCH_EMBEDDING
            if is_conv:  # on the kernel's c_out x (c_in·k·…) flattening, as IDICτ sees it
                idinit.small_init_conv_(param, d=param.shape[0] if stem else None, generator=generator)
            else:
                matrix = as_matrix(param, slot)
                idinit.small_init_(matrix, d=matrix.shape[0] if stem else None, generator=generator)
                matrix.mul_(_query_fold(slot, heads, options))  # a query whose attention does not scale its logits
        else:
            raise AssertionError(f"rule {rule} writes nothing")  # DEFAULT and TIED never reach here
        if param_name == "weight" and padding_idx is not None and rule is not Rule.ZERO:
            param[padding_idx].zero_()  # as nn.Embedding does: the padding row stays 0


def _write_identity(param: torch.Tensor, slot: Slot, options: Any, seed: int, is_conv: bool,
                    heads: tuple[int, int] | None, *, qkv: tuple[int, int, int, int] | None = None,
                    init_std: float | None = None, groups: int = 1) -> None:
    """IDIτ / IDICτ, then the loosening noise where rows are replicas (seeded per parameter)."""
    generator = torch.Generator().manual_seed(seed)
    fan_in = param[0].numel() if is_conv else as_matrix(param, slot).shape[-1]
    is_head = slot.role is Role.HEAD
    std = loosening_std(options, fan_in, is_head=is_head)
    tau_std = loosening_std(options, fan_in, tau_entries_only=True, is_head=is_head)  # loosen_centred_ / loosen_heads_
    loosen = dict(std=std, generator=generator, target=options.loosening_target, wide=options.wide)
    if slot.stacked and param.dim() == 2:
        _write_stacked(as_matrix(param, slot), slot, options, generator, init_std)
        return
    if param.dim() == 1:  # a diagonal stored as its gain (a layer scale): IDIτ is g = τ
        idinit.idi_gain_(param, options.tau)
        return
    if is_conv and options.conv == "centred":
        idinit.idic_centred_(param, options.tau, groups=groups, wide=options.wide)
        if idinit.centred_replicated(param.shape, groups):
            if options.loosening_target == "all":
                idinit.loosen_(param, **loosen)
            else:
                idinit.loosen_centred_(param, tau_std, groups=groups, wide=options.wide, generator=generator)
        return
    if is_conv:
        idinit.idic_(param, options.tau, wide=options.wide)
        if param.shape[0] > param[0].numel():
            idinit.loosen_(param, **loosen)
        return
    matrix = as_matrix(param, slot)
    if slot.qkv is not None:  # per-head fused Q|K|V: what separate projections would hold, in the fused row order
        n_heads, kv_heads, head_dim, shards = qkv
        small_query = options.query == "small"
        idinit.idi_qkv_(matrix, options.tau, layout=slot.qkv.layout, heads=n_heads, kv_heads=kv_heads,
                        head_dim=head_dim, shards=shards, query_scale=0.0 if small_query else options.query_scale,
                        gqa=options.gqa)
        if small_query:
            idinit.small_init_query_rows_(matrix, layout=slot.qkv.layout, heads=n_heads, kv_heads=kv_heads,
                                          head_dim=head_dim, shards=shards, generator=generator)
        return
    if slot.fused:
        n_in = matrix.shape[1]
        n_blocks = matrix.shape[0] // n_in
        for index, block in enumerate(idinit.fused_blocks(matrix, [n_in] * n_blocks)):
            # Q|K|V: the query is block 0 (a fused K|V, GPT-2's cross-attention c_attn, has no query block)
            query = slot.heads == QUERY and index == 0 and n_blocks == 3
            if query and options.query == "small":
                idinit.small_init_(block, generator=generator)
            else:
                _idi_scaled(block, options, query=query)
        return
    if heads is not None and options.gqa == "group" and heads[1] > 1:
        head_dim, group = heads
        idinit.idi_heads_(matrix, options.tau, head_dim=head_dim, group=group)
        if idinit.heads_replicated(*matrix.shape, head_dim, group):
            idinit.loosen_heads_(matrix, tau_std, head_dim=head_dim, group=group, generator=generator)
        return
    query = slot.heads == QUERY
    _idi_scaled(matrix, options, query=query, fold=_query_fold(slot, heads, options))
    if _replicated(matrix) and not (query and options.query_scale == 0):  # Q = 0 stays exactly 0 (a tall query: MLA)
        idinit.loosen_(matrix, **loosen)


def expert_matrices(param: torch.Tensor, slot: Slot) -> torch.Tensor:
    """The ``E x out x in`` view of a stacked expert weight (transposed storage undone); a 2-D weight (a fused
    gate|up ``nn.Linear``) is a stack of one."""
    matrices = param.transpose(-1, -2) if slot.transposed else param
    return matrices.unsqueeze(0) if matrices.dim() == 2 else matrices


def _write_experts(param: torch.Tensor, slot: Slot, rule: Rule, options: Any, seed: int) -> None:
    """IDIτ / IDIZε on every expert of a stacked weight, told apart as ``idinit_experts`` says; a fused gate|up
    weight gets the gate's rule on its gate part (left as the library wrote it when that rule is the default)."""
    matrices = expert_matrices(param, slot)
    n_experts, n_out, n_in = matrices.shape
    symmetry = options.experts if slot.experts else "identical"
    if rule is Rule.IDIZ:
        shifts = idinit.expert_shifts(n_experts, n_out) if symmetry == "shift" else None
        idinit.idiz_experts_(matrices, options.epsilon, shifts=shifts, pattern=options.zero_pattern)
        return
    if rule is not Rule.IDI:
        raise AssertionError(f"rule {rule} writes no expert weight")
    parts = [matrices]
    if slot.gate_up:
        gate, up = idinit.gate_up_parts(matrices, slot.gate_up)
        parts = [gate, up] if gate_rule(options) is Rule.IDI else [up]
    shifts = idinit.expert_shifts(n_experts, n_in) if symmetry == "shift" else None
    generator = torch.Generator().manual_seed(seed)
    for part in parts:
        idinit.idi_experts_(part, options.tau, shifts=shifts, wide=options.wide)
        if symmetry == "loosen" or part.shape[1] > part.shape[2]:  # experts told apart, or replicated rows
            idinit.loosen_experts_(part, loosening_std(options, part.shape[-1]), shifts=shifts, generator=generator,
                                   target=options.loosening_target, wide=options.wide, same=symmetry == "identical")


def _write_stacked(matrix: torch.Tensor, slot: Slot, options: Any, generator: torch.Generator,
                   init_std: float | None) -> None:
    """A weight whose output rows stack equal blocks of ``slot.stacked`` roles: each block gets its own role's rule,
    as a separate layer would (IDIτ loosened where its rows replicate, IDIZε, zeros), in one seeded pass. A block
    whose rule is the library's gets the library's distribution for a Linear, N(0, initializer_range²), drawn from the
    parameter's own generator: the weight is written whole by IDInit, so verify rebuilds that block too."""
    blocks = idinit.fused_blocks(matrix, [matrix.shape[0] // len(slot.stacked)] * len(slot.stacked))
    for block, role in zip(blocks, slot.stacked, strict=True):
        rule = rule_for(Slot(slot.owner, slot.path, role), options, tied_embeddings=False)
        if rule is Rule.IDI:
            idinit.idi_(block, options.tau, wide=options.wide)
            if _replicated(block):
                idinit.loosen_(block, loosening_std(options, block.shape[1]), generator=generator, target=options.loosening_target,
                               wide=options.wide)
        elif rule is Rule.IDIZ:
            idinit.idiz_(block, options.epsilon, pattern=options.zero_pattern)
        elif rule is Rule.ZERO:
            block.zero_()
        elif rule is Rule.DEFAULT:
            idinit.seeded_normal_(block, init_std if init_std is not None else 0.02, generator=generator)
        else:
            raise AssertionError(f"a stacked block has no rule {rule}")


def _query_fold(slot: Slot, heads: tuple[int, int] | None, options: Any) -> float:
    """d_head^-½ for the query of an attention that does not scale its logits (T5, ``Slot.unscaled_logits``;
    ``heads`` = (d_head, 1)) under ``idinit_unscaled_query="fold"``, the factor T5's own init folds into its query;
    1 for every other slot. IDIτ and a SmallInit query alike take it."""
    if slot.heads == QUERY and slot.unscaled_logits and heads is not None and options.unscaled_query == "fold":
        return heads[0] ** -0.5
    return 1.0


def _idi_scaled(matrix: torch.Tensor, options: Any, *, query: bool, fold: float = 1.0) -> None:
    """IDIτ, with τ × ``idinit_query_scale`` on a query projection (0 writes zeros: uniform attention at init),
    and × ``fold`` (:func:`_query_fold`)."""
    tau = (options.tau * options.query_scale if query else options.tau) * fold
    if tau == 0:
        matrix.zero_()
    else:
        idinit.idi_(matrix, tau, wide=options.wide)


@torch.no_grad()
def write_rule(module: nn.Module, slot: Slot, rule: Rule, options: Any, seed: int,
               located: LocatedSlot | None = None) -> None:
    """Write ``rule`` into the parameters of ``module`` for ``slot`` that are not loaded (bias, if any, to 0),
    and record the seed used (for :func:`idinit_hf.verify`). The layer's facts come from ``located``, else
    from the module's tags."""
    fresh = {n: p for n, p in slot_parameters(module, slot, with_bias=True) if not is_initialized(p)}
    write_pattern(fresh, slot, rule, options, seed, **layer_facts(module, located))
    setattr(module, _SEED, seed)
