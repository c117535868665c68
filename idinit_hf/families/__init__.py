"""Role tables, one per architecture family. To add an architecture, add a module with a :class:`Family`
and list it in :data:`FAMILIES`."""

from __future__ import annotations

from typing import Any

from ..roles import Family
from .bert import BERT
from .gpt2 import GPT2
from .vit import VIT

__all__ = ["FAMILIES", "family_for", "supported_model_types"]

FAMILIES: tuple[Family, ...] = (GPT2, BERT, VIT)


def supported_model_types() -> tuple[str, ...]:
    return tuple(t for family in FAMILIES for t in family.model_types)


def family_for(config: Any) -> Family | None:
    """The family whose table covers ``config.model_type``, or None."""
    model_type = getattr(config, "model_type", None)
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    return None
