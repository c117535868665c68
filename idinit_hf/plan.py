"""Which rule writes each parameter of one IDInit model: the :class:`InitPlan`, resolved once from the config.

The init pass (:func:`init_module`, which ``IDInitMixin`` dispatches every module to), :func:`idinit_hf.apply_`
and :func:`idinit_hf.verify` all ask the same plan, so the three can never disagree on a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from torch import nn
from transformers import PreTrainedModel

from .families import Family, idinit_family, tied_embeddings
from .options import IDInitOptions
from .patterns import (
    INITIALIZED_FLAG,
    LocatedSlot,
    aliased_slots,
    is_initialized,
    locate_slots,
    resolve_seed,
    slot_parameters,
    tagged_slots,
    write_rule,
)
from .roles import Rule, Slot, rule_for, writes_whole

__all__ = ["InitPlan", "init_module"]


@dataclass(frozen=True)
class InitPlan:
    """What one IDInit model's init needs, resolved once from its config: the family's table, the validated
    options (with the family's own defaults) and whether the output embeddings are tied to the input ones."""

    family: Family
    options: IDInitOptions
    tied_embeddings: bool

    @classmethod
    def for_config(cls, config: Any) -> InitPlan | None:
        """The plan of ``config``, or None where the model keeps its own init (:func:`idinit_family` decides).

        Raises:
            ValueError: invalid options, or IDInit asked for on an architecture with no role table.
        """
        resolved = idinit_family(config)
        if resolved is None:
            return None
        family, options = resolved
        return cls(family, options, tied_embeddings(config))

    @property
    def seed(self) -> int:
        """The base seed of the loosening noise (``idinit_seed``, else torch's initial seed)."""
        return resolve_seed(self.options)

    def rule(self, slot: Slot, *, alias: bool = False) -> Rule:
        """The slot's rule; ``tied`` for an alias slot whose tensor another slot holds (:attr:`Slot.alias`)."""
        return Rule.TIED if alias else rule_for(slot, self.options, tied_embeddings=self.tied_embeddings)

    def located(self, model: nn.Module) -> Iterator[tuple[LocatedSlot, Rule]]:
        """Every slot of the family found in ``model``, with its rule; reads the model, tags nothing."""
        for located in locate_slots(model, self.family):
            yield located, self.rule(located.slot, alias=located.alias_of is not None)

    def _rules(self, module: nn.Module) -> list[tuple[Slot, Rule]]:
        aliases = aliased_slots(module)
        return [(slot, self.rule(slot, alias=slot in aliases)) for slot in tagged_slots(module)]

    def writes(self, module: nn.Module) -> list[tuple[Slot, Rule]]:
        """The (slot, rule) pairs IDInit writes into a tagged ``module`` (library-default and tied slots excluded)."""
        return [(slot, rule) for slot, rule in self._rules(module) if rule not in (Rule.DEFAULT, Rule.TIED)]

    def reserved(self, module: nn.Module) -> list[nn.Parameter]:
        """The parameters of ``module`` the stock init must not write: those IDInit writes, and tied weights (the
        input embedding's, which its own slot initializes, whichever module the init pass visits first). A weight
        IDInit writes only in part (a fused gate|up whose gate is the library's) is left to the stock init first."""
        return [param for slot, rule in self._rules(module) if rule is not Rule.DEFAULT
                for name, param in slot_parameters(module, slot, with_bias=rule is not Rule.TIED)
                if rule is not Rule.IDI or writes_whole(slot, self.options) or name not in slot.params]


@contextmanager
def _reserved(params: list[nn.Parameter]):
    """Flag ``params`` as initialized for the duration, so that the stock, guarded init leaves them alone."""
    fresh = list({id(p): p for p in params if not is_initialized(p)}.values())
    for param in fresh:
        setattr(param, INITIALIZED_FLAG, True)
    try:
        yield
    finally:
        for param in fresh:
            delattr(param, INITIALIZED_FLAG)


def init_module(module: nn.Module, stock: Callable[[nn.Module], None], plan: InitPlan | None) -> None:
    """Initialize one module: the stock init for what IDInit leaves alone, then the IDInit rules.

    ``stock`` is the model's own ``_init_weights``. Without a plan (the config does not ask for IDInit) this is
    exactly ``stock(module)``. Touches only the module and its direct children (what DeepSpeed ZeRO-3 gathers),
    and reads a parameter's ``_is_hf_initialized`` flag before its shape.
    """
    if plan is None:
        stock(module)
        return
    targets = [module, *(c for c in module.children() if not isinstance(c, PreTrainedModel))]
    owned = [param for target in targets for param in plan.reserved(target)]
    with _reserved(owned):
        stock(module)
    for slot, rule in plan.writes(module):
        write_rule(module, slot, rule, plan.options, plan.seed)
