"""What a family of the registry says about itself: its layout (the role table) and everything a consumer needs to
build and feed it — its pretraining objective, a tiny example config, how to scale it to a depth and width, and
how real data fixes the rest of its config. Tests, benchmarks, ``scripts/check_gpu.py`` and the docs read these
fields (through :mod:`idinit_hf.testing`), so a new family is one table file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..objectives import DataShape, Objective, objective_of
from ..roles import Role, Slot, _matches

__all__ = ["Family"]


def _no_size(depth: int, width: int) -> dict[str, Any]:
    raise NotImplementedError("this family does not say how to scale it (Family.scale)")


def _no_data(shape: DataShape) -> dict[str, Any]:
    raise NotImplementedError("this family does not say how data fits its config (Family.fit)")


def _hidden_layers(config: Any) -> int:
    return config.get_text_config().num_hidden_layers


def _hidden_size(config: Any) -> int:
    return config.get_text_config().hidden_size


#: What every residual block of a transformer holds: an attention branch and an MLP branch.
TRANSFORMER_BRANCHES = (Role.ATTENTION_IN, Role.ATTENTION_OUT, Role.MLP_IN, Role.MLP_OUT)


@dataclass(frozen=True)
class Family:
    """One architecture: the config ``model_type`` s it covers, its residual block, its slots and its self-description.

    Attributes:
        name: the family's name in the registry (``"gpt2"``).
        model_types: every ``config.model_type`` this table covers.
        block: the residual block (an identity map at init under IDInit): a module type, a tuple of them, or a
            class-name suffix.
        norm_position: ``"pre"`` (``x + f(LN(x))``) or ``"post"`` (``LN(x + f(x))``, or a ResNet's
            ``relu(x + f(x))``: something follows the residual add): what "identity at init" means.
        slots: the role table.
        pretraining: the Auto class of the family's pretraining head (``"AutoModelForCausalLM"``); the objective
            (what a batch is, which predictions an accuracy compares) follows from it.
        example: the smallest config (keyword arguments of ``AutoConfig.for_model(model_types[0], ...)``).
        scale: ``(depth, width) → config keywords`` of the architecture at that size (heads, MLP width, …).
        fit: ``DataShape → config keywords`` that real data fixes (vocabulary, context length, image size, classes).
        dropout: the config keys of dropout probabilities (benchmarks train without dropout).
        option_defaults: the open options whose default the benchmark chose for this architecture, as
            (field, value) pairs (docs/defaults.md); an option set in the config always wins.
        branch_roles: the roles every residual block holds (a transformer's attention and MLP branches; a
            convolutional block's inner and last layers).
        depth_of: config → its number of residual blocks (``num_hidden_layers``; a conv net's ``sum(depths)``).
        width_of: config → its width (``hidden_size``; a conv net's base channel width).
        identity_by_default: the library's own init already makes every block nearly an identity (ConvNeXt's
            layer scale of 1e-6), so "not an identity under the default init" is not a property of this family.
    """

    name: str
    model_types: tuple[str, ...]
    block: type[nn.Module] | tuple[type[nn.Module], ...] | str
    norm_position: str
    slots: tuple[Slot, ...]
    pretraining: str = "AutoModel"
    example: dict = field(default_factory=dict, hash=False, compare=False)
    scale: Callable[[int, int], dict[str, Any]] = field(default=_no_size, hash=False, compare=False)
    fit: Callable[[DataShape], dict[str, Any]] = field(default=_no_data, hash=False, compare=False)
    dropout: tuple[str, ...] = ()
    option_defaults: tuple[tuple[str, object], ...] = ()
    branch_roles: tuple[Role, ...] = TRANSFORMER_BRANCHES
    depth_of: Callable[[Any], int] = field(default=_hidden_layers, hash=False, compare=False)
    width_of: Callable[[Any], int] = field(default=_hidden_size, hash=False, compare=False)
    identity_by_default: bool = False

    @property
    def objective(self) -> Objective:
        return objective_of(self.pretraining)

    @property
    def modality(self) -> str:
        """``"text"`` or ``"image"``: what the family's pretraining data is."""
        return self.objective.modality

    def is_block(self, module: nn.Module) -> bool:
        return _matches(module, self.block)

    def example_config(self, model_type: str | None = None, **overrides):
        """A tiny config of ``model_type`` (default: the family's first), with ``overrides``."""
        from transformers import AutoConfig

        return AutoConfig.for_model(model_type or self.model_types[0], **{**self.example, **overrides})
