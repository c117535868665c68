"""The one-write build: an IDInit model's parameters are allocated once, on the caller's device, and written once.

A stock ``from_config`` allocates every parameter, fills it at random in the module's constructor
(``reset_parameters``), and fills most of them again in the model's init pass. Under ``init_method="idinit"`` an
IDInit class builds instead (:func:`build_deferred`):

1. the constructor runs with *parameters deferred* (:func:`deferred_parameters`): every parameter a module
   registers is replaced by a meta tensor of the same shape and dtype, and transformers' ``no_init_weights()``
   turns the constructors' and the nested models' init off. **Buffers are left alone**: they are made for real,
   on the caller's device, exactly as the modules' ``__init__`` defines them (position ids, RoPE frequencies),
   so a model whose init pass is skipped or replaced still has correct buffers (transformers' contract,
   ``test_init_weights_can_init_buffers``);
2. the weights are tied (on meta: one tensor per tied group);
3. every deferred parameter gets real, uninitialized memory on the device the caller had as default
   (:func:`materialize_`), each tensor once, so tied weights stay tied;
4. one ``initialize_weights()`` pass writes every value: role weights by their rule, everything else by the
   model's own ``_init_weights``.

All state of one build lives in a :class:`DeferredBuild` object that ``IDInitMixin.__init__`` holds: nothing is
passed between models through process-wide lists. Only the parameters this build deferred are materialized: a
model built under ``accelerate.init_empty_weights()`` (which puts parameters on meta by itself) stays empty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_parameter_registration_hook
from transformers.initialization import no_init_weights

from .families import family_for
from .patterns import INITIALIZED_FLAG

__all__ = [
    "DeferredBuild", "builds_deferred", "build_deferred", "clear_initialized_flags", "shared_parameters", "reshare_",
]

# Per thread: the deferred build whose constructor is running (None outside one). The parameter registration
# hook is process-global (torch has no per-thread hook), so it defers only the parameters of its own thread.
_ACTIVE = threading.local()


def _active_build() -> DeferredBuild | None:
    return getattr(_ACTIVE, "build", None)


class DeferredBuild:
    """The parameters one model's constructor registered, deferred to the meta device until :meth:`materialize_`."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.deferred: dict[int, nn.Parameter] = {}  # id → the meta parameter this build made (kept alive)

    def defer(self, module: nn.Module, name: str, param: nn.Parameter | None) -> nn.Parameter | None:
        """The parameter registration hook: a meta parameter of the same class, shape, dtype and requires_grad."""
        if param is None or param.is_meta:
            return None  # keep it as it is
        meta = type(param)(param.to("meta"), requires_grad=param.requires_grad)
        self.deferred[id(meta)] = meta
        return meta

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Construct with parameters deferred and every init off (buffers are made as usual).

        The random generator of the build's device is restored afterwards: a constructor that draws a deferred
        parameter's values (ViT's ``torch.randn`` class token) draws values nobody keeps, so the one init pass draws
        exactly what transformers' meta build (``from_pretrained``) would draw for the same seed.
        """
        handle = register_module_parameter_registration_hook(
            lambda module, name, param: self.defer(module, name, param) if _active_build() is self else None)
        _ACTIVE.build = self
        devices = [] if self.device.type == "cpu" else [self.device]
        try:
            with no_init_weights(), torch.random.fork_rng(devices=devices, device_type=self.device.type):
                yield
        finally:
            _ACTIVE.build = None
            handle.remove()

    def materialize_(self, model: nn.Module) -> int:
        """Give each parameter this build deferred real, uninitialized memory on ``self.device`` (one tensor per
        tied group); return how many tensors were allocated. Parameters put on meta by anyone else stay there."""
        replaced: dict[int, nn.Parameter] = {}
        for module in model.modules():
            for name, param in module._parameters.items():
                if param is None or self.deferred.get(id(param)) is not param:
                    continue
                if id(param) not in replaced:
                    replaced[id(param)] = type(param)(torch.empty_like(param, device=self.device),
                                                      requires_grad=param.requires_grad)
                module._parameters[name] = replaced[id(param)]
        self.deferred.clear()
        return len(replaced)


def builds_deferred(config: Any) -> bool:
    """Whether a model of ``config`` is built by :func:`build_deferred`: under IDInit, for an architecture with a
    role table, on a real default device, outside DeepSpeed ZeRO-3 (which has its own init-off construction) and
    outside another deferred build (a nested IDInit model is built, and initialized, by the outer one)."""
    from transformers.integrations.deepspeed import is_deepspeed_zero3_enabled

    return (getattr(config, "init_method", None) == "idinit" and family_for(config) is not None
            and torch.get_default_device().type != "meta" and _active_build() is None
            and not is_deepspeed_zero3_enabled())


def clear_initialized_flags(model: nn.Module) -> None:
    """Forget every module's "already initialized" flag (their memory was just handed out uninitialized)."""
    for module in model.modules():
        if hasattr(module, INITIALIZED_FLAG):
            delattr(module, INITIALIZED_FLAG)


def shared_parameters(model: nn.Module) -> list[list[tuple[nn.Module, str]]]:
    """The places (module, attribute name) of each parameter that ``model`` holds in more than one place: tied
    weights (T5's ``shared``, ``encoder.embed_tokens``, ``decoder.embed_tokens`` and ``lm_head``), first place first."""
    places: dict[int, list[tuple[nn.Module, str]]] = {}
    for module in model.modules():
        for name, param in module._parameters.items():
            if param is not None:
                places.setdefault(id(param), []).append((module, name))
    return [group for group in places.values() if len(group) > 1]


def reshare_(groups: list[list[tuple[nn.Module, str]]]) -> None:
    """Make every place of each group hold the parameter its first place holds now.

    ``nn.Module.to_empty`` from the meta device gives each place of a shared parameter a tensor of its own (meta and
    real tensors are not shallow-copy compatible, so ``_apply`` makes a new parameter per place): the weights come
    out untied, and an init pass over them draws one tied group several times, in an order a real build never sees.
    """
    for (module, name), *others in groups:
        param = module._parameters[name]
        for other, other_name in others:
            other._parameters[other_name] = param


def build_deferred(model: nn.Module, construct: Callable[[], None]) -> None:
    """Run ``construct`` (the stock ``__init__`` of ``model``) with parameters deferred, then tie, allocate each
    parameter once on the caller's default device, and initialize every value in one pass."""
    build = DeferredBuild(torch.get_default_device())
    with build.deferring():
        construct()
    model.tie_weights(recompute_mapping=False)  # init_weights, which ties, was off during the constructor
    build.materialize_(model)
    clear_initialized_flags(model)
    model.initialize_weights()
    model.tie_weights(recompute_mapping=False)
