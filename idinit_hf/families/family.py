"""What a family of the registry says about itself: its layout (the role table) and everything a consumer needs to
build and feed it — its pretraining objective, a tiny example config, how to scale it to a depth and width, and
how real data fixes the rest of its config. Tests, benchmarks, ``scripts/check_gpu.py`` and the docs read these
fields (through :mod:`idinit_hf.testing`), so a new family is one table file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..objectives import DataShape, Objective, objective_of
from ..roles import Role, Slot, _matches

__all__ = ["LOOSENED_REPLICAS", "Family"]

#: ``option_defaults`` of a family whose tall IDIτ matrices (an MLP's input, a gated MLP's gate and up) must start as
#: distinct units: loosening of size 0.5 relative to an identity row, on every entry (issue 19, docs/defaults.md
#: "GPT-2's loosening"). With the paper's 1e-6 on the τ entries, the replicated rows stay tied through training and
#: the MLP trains as if it were d wide, not 4d; measured on GPT-2 and Llama, where it pays at 1000-3000 steps. It
#: reaches every tall IDIτ of the family (a tall query or an untied IDIτ head too), as the paper's loosening does.
LOOSENED_REPLICAS: tuple[tuple[str, object], ...] = (
    ("loosening", 0.5), ("loosening_scale", "fan_in"), ("loosening_target", "all"))


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
        derive: config keywords that follow from the others, applied last by :meth:`example_config` (GPT-Neo's
            ``attention_types`` must list one attention kind per block, whatever depth a caller asks for).
        context_length: ``config → the longest sequence`` a model takes, where that is not its
            ``max_position_embeddings`` (RoBERTa numbers positions from ``pad_token_id + 1``); None: that field.
        stacks: how many stacks of ``depth`` blocks ``scale(depth, width)`` builds: 2 for an encoder-decoder
            (an encoder and a decoder of ``depth`` blocks each), else 1.
        branch_roles: the roles every residual block holds (a transformer's attention and MLP branches; a
            convolutional block's inner and last layers).
        depth_of: config → its number of residual blocks (``num_hidden_layers``; a conv net's ``sum(depths)``).
        width_of: config → its width (``hidden_size``; a conv net's base channel width).
        after_add: what a block applies after its residual add, so what it maps ``x`` to when its branches are zero:
            ``"layer_norm"`` (post-LN transformers: ``LN(x + f(x))``), ``"relu"`` (ResNet: ``relu(x + f(x))``), or
            ``"none"``; empty: ``"layer_norm"`` when ``norm_position`` is ``"post"``, else ``"none"``.
        identity_by_default: the library's own init already makes every block nearly an identity (ConvNeXt's
            layer scale of 1e-6), so "not an identity under the default init" is not a property of this family.
    """

    name: str
    model_types: tuple[str, ...]
    block: type[nn.Module] | tuple[type[nn.Module], ...] | str | tuple[str, ...]
    norm_position: str
    slots: tuple[Slot, ...]
    pretraining: str = "AutoModel"
    example: dict = field(default_factory=dict, hash=False, compare=False)
    scale: Callable[[int, int], dict[str, Any]] = field(default=_no_size, hash=False, compare=False)
    fit: Callable[[DataShape], dict[str, Any]] = field(default=_no_data, hash=False, compare=False)
    dropout: tuple[str, ...] = ()
    option_defaults: tuple[tuple[str, object], ...] = ()
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, hash=False, compare=False)
    context_length: Callable[[Any], int] | None = field(default=None, hash=False, compare=False)
    stacks: int = 1
    branch_roles: tuple[Role, ...] = TRANSFORMER_BRANCHES
    depth_of: Callable[[Any], int] = field(default=_hidden_layers, hash=False, compare=False)
    width_of: Callable[[Any], int] = field(default=_hidden_size, hash=False, compare=False)
    identity_by_default: bool = False
    after_add: str = ""

    @property
    def objective(self) -> Objective:
        return objective_of(self.pretraining)

    @property
    def modality(self) -> str:
        """``"text"`` or ``"image"``: what the family's pretraining data is."""
        return self.objective.modality

    def at_init(self, x: torch.Tensor) -> torch.Tensor:
        """What one of this family's blocks maps ``x`` to when its branches are zero (:attr:`after_add`)."""
        after_add = self.after_add or ("layer_norm" if self.norm_position == "post" else "none")
        if after_add == "layer_norm":
            return torch.nn.functional.layer_norm(x.float(), x.shape[-1:])
        if after_add == "relu":
            return torch.relu(x)
        if after_add != "none":
            raise ValueError(f"family {self.name!r}: after_add={after_add!r}; expected 'layer_norm', 'relu' or 'none'")
        return x

    def is_block(self, module: nn.Module) -> bool:
        return _matches(module, self.block)

    def example_config(self, model_type: str | None = None, **overrides):
        """A tiny config of ``model_type`` (default: the family's first), with ``overrides``."""
        from transformers import AutoConfig

        kwargs = {**self.example, **overrides}
        if self.derive is not None:
            kwargs.update(self.derive(kwargs))
        return AutoConfig.for_model(model_type or self.model_types[0], **kwargs)
