"""What IDInit writes into one layer: the role tags on modules, the parameters a rule owns, the seeds of the
loosening noise, and the pattern writer itself.

:mod:`idinit_hf.init` has the tensor formulas; :mod:`idinit_hf.roles` and ``families/`` say which layer gets which
rule; this module connects the two for one module at a time. It is pure with respect to transformers' loading
state except where a function says it reads the ``_is_hf_initialized`` flag, so :func:`idinit_hf.verify` can
rebuild the expected weights on fresh tensors with the very same code (:func:`write_pattern`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from transformers import initialization as hf_init

from . import init as idinit
from .roles import GAIN_ROLES, KEY_VALUE, QUERY, Rule, Slot

if TYPE_CHECKING:  # the role tables import nothing from here
    from .families.family import Family

__all__ = [
    "INITIALIZED_FLAG", "is_initialized", "partitioned_parameters", "LocatedSlot", "locate_slots", "tag_roles", "tagged_slots", "layer_name", "recorded_seed",
    "slot_parameters", "layer_facts", "param_seed", "resolve_seed", "as_matrix", "write_pattern", "write_rule",
]

#: transformers' per-tensor and per-module flag: "loaded or already initialized, do not write".
INITIALIZED_FLAG = "_is_hf_initialized"
_SLOTS = "_idinit_slots"  # tuple[Slot, ...] on the module that holds the parameters
_NAME = "_idinit_name"  # its dotted name, relative to the base model (same in BertModel and BertForMaskedLM)
_SEED = "_idinit_seed"  # the loosening seed actually used, recorded for verify()
_HEADS = "_idinit_heads"  # (head_dim, query heads per key/value head) of a key/value projection


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
    heads: tuple[int, int] | None  # (head_dim, query heads per key/value head) of a key/value projection


def locate_slots(model: nn.Module, family: Family) -> list[LocatedSlot]:
    """Every slot of ``family``'s table present in ``model``, in module order. Pure: reads, tags nothing."""
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    found = []
    for owner_path, owner in model.named_modules():
        for slot in family.slots:
            if not slot.owned_by(owner):
                continue
            target = _resolve(owner, slot.path)
            if not isinstance(target, nn.Module) or not any(
                isinstance(getattr(target, p, None), nn.Parameter) for p in slot.params
            ):
                continue  # optional layer absent (no pooler, cross-attention off, nn.Identity head)
            path = ".".join(filter(None, (owner_path, slot.path)))
            # the attention module knows its head layout, the Linear does not
            heads = (int(owner.head_dim), int(owner.num_key_value_groups)) if slot.heads == KEY_VALUE else None
            found.append(LocatedSlot(path, path.removeprefix(prefix), target, slot, heads))
    return found


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
            count += 1
    return count


def slot_parameters(module: nn.Module, slot: Slot, *, with_bias: bool) -> Iterator[tuple[str, nn.Parameter]]:
    """The parameters a slot's rule writes: ``slot.params`` (and ``bias`` when the rule resets it)."""
    names = (*slot.params, "bias") if with_bias and "bias" not in slot.params else slot.params
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
    groups: int = 1,
) -> None:
    """Write ``rule`` into ``tensors`` (parameter name → tensor of one layer). Pure: reads no flag.

    The weights a rule writes depend only on the shapes, the options, the seed and the layer's name, so
    :func:`idinit_hf.verify` can rebuild them on fresh tensors and compare bit for bit.
    """
    for param_name, param in tensors.items():
        if param_name == "bias" and "bias" not in slot.params:
            hf_init.zeros_(param)
        elif rule is Rule.ZERO:
            hf_init.zeros_(param)
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
            _write_identity(param, slot, options, param_seed(seed, f"{name}.{param_name}"), is_conv, heads, groups)
        else:
            raise AssertionError(f"rule {rule} writes nothing")  # DEFAULT and TIED never reach here
        if param_name == "weight" and padding_idx is not None and rule is not Rule.ZERO:
            param[padding_idx].zero_()  # as nn.Embedding does: the padding row stays 0


def _write_identity(param: torch.Tensor, slot: Slot, options: Any, seed: int, is_conv: bool,
                    heads: tuple[int, int] | None, groups: int = 1) -> None:
    """IDIτ / IDICτ, then the loosening noise where rows are replicas (seeded per parameter)."""
    generator = torch.Generator().manual_seed(seed)
    loosen = dict(std=options.loosening, generator=generator, target=options.loosening_target, wide=options.wide)
    if param.dim() == 1:  # a diagonal stored as its gain (a layer scale): IDIτ is g = τ
        idinit.idi_gain_(param, options.tau)
        return
    if is_conv and options.conv == "centred":
        idinit.idic_centred_(param, options.tau, groups=groups, wide=options.wide)
        if idinit.centred_replicated(param.shape, groups):
            if options.loosening_target == "all":
                idinit.loosen_(param, **loosen)
            else:
                idinit.loosen_centred_(param, options.loosening, groups=groups, wide=options.wide, generator=generator)
        return
    if is_conv:
        idinit.idic_(param, options.tau, wide=options.wide)
        if param.shape[0] > param[0].numel():
            idinit.loosen_(param, **loosen)
        return
    matrix = as_matrix(param, slot)
    if slot.fused:
        n_in = matrix.shape[1]
        n_blocks = matrix.shape[0] // n_in
        for index, block in enumerate(idinit.fused_blocks(matrix, [n_in] * n_blocks)):
            # Q|K|V: the query is block 0 (a fused K|V, GPT-2's cross-attention c_attn, has no query block)
            _idi_scaled(block, options, query=slot.heads == QUERY and index == 0 and n_blocks == 3)
        return
    if heads is not None and options.gqa == "group" and heads[1] > 1:
        head_dim, group = heads
        idinit.idi_heads_(matrix, options.tau, head_dim=head_dim, group=group)
        if idinit.heads_replicated(*matrix.shape, head_dim, group):
            idinit.loosen_heads_(matrix, options.loosening, head_dim=head_dim, group=group, generator=generator)
        return
    _idi_scaled(matrix, options, query=slot.heads == QUERY)
    if _replicated(matrix):
        idinit.loosen_(matrix, **loosen)


def _idi_scaled(matrix: torch.Tensor, options: Any, *, query: bool) -> None:
    """IDIτ, with τ × ``idinit_query_scale`` on a query projection (0 writes zeros: uniform attention at init)."""
    tau = options.tau * options.query_scale if query else options.tau
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
