"""How the IDInit rules reach every layer of a transformers model, without touching a loaded weight.

transformers 5.x initializes a model with ``initialize_weights``, which walks the module tree and hands every
*nested* ``PreTrainedModel`` (``transformer`` in ``GPT2LMHeadModel``, ``bert``, ``vit``) to that submodel's own
``_init_weights``. Overriding ``_init_weights`` on the head class alone therefore never reaches the body
(docs/design.md). :class:`IDInitMixin` instead, in ``post_init`` (:func:`prepare_model`):

1. resolves the options once for the model (:func:`idinit_hf.families.idinit_family`) and tags each module
   that holds a role's parameters with its :class:`~idinit_hf.roles.Slot` (:func:`idinit_hf.patterns.tag_roles`);
2. makes every nested ``PreTrainedModel`` *instance* dispatch its ``_init_weights`` to IDInit (an instance
   attribute: the nested *class* stays stock, so checkpoint conversion and saving are unchanged);
3. clears the module-level ``_is_hf_initialized`` flags that the nested models' own ``post_init`` left on the
   modules IDInit rewrites, so that the outer pass visits them (and only them) again.

The per-module rule (:func:`init_module`) runs the model's stock ``_init_weights`` with IDInit's parameters
reserved (flagged as initialized for the duration, so the stock init skips them and nothing is written twice),
then writes the IDInit pattern into the parameters of the module itself. It reads a parameter's
``_is_hf_initialized`` flag before its shape, touches only the module and its direct children (what
DeepSpeed ZeRO-3 gathers), and is deterministic, so visiting a module twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, PreTrainedModel
from transformers.initialization import meta_device_safe_creation_ops, no_init_weights

from .families import family_for, idinit_family
from .options import IDInitOptions, apply_option_overrides, pop_option_kwargs
from .patterns import (
    INITIALIZED_FLAG,
    is_initialized,
    resolve_seed,
    slot_parameters,
    tag_roles,
    tagged_slots,
    write_rule,
)
from .roles import Family, Rule, rule_for

__all__ = ["IDInitMixin", "InitPlan", "prepare_model", "init_module", "init_plan", "pretrained_config",
           "tied_embeddings"]

_PLAN = "_idinit_plan"  # on the model: the InitPlan that prepare_model resolved (None: the stock init)
#: Keyword arguments that say where to find a checkpoint: the config and the weights must both see them.
HUB_KWARGS = ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")


def tied_embeddings(config: Any) -> bool:
    """Whether output embeddings share the input embedding's weight (transformers' default is True)."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return bool(getattr(text_config, "tie_word_embeddings", True))


@dataclass(frozen=True)
class InitPlan:
    """What one IDInit model's init needs, resolved once from its config: the options and whether the output
    embeddings are tied to the input ones."""

    options: IDInitOptions
    tied_embeddings: bool

    def rule(self, slot) -> Rule:
        return rule_for(slot, self.options, tied_embeddings=self.tied_embeddings)

    def writes(self, module: nn.Module) -> list:
        """The (slot, rule) pairs IDInit writes into ``module`` (library-default and tied slots excluded)."""
        return [(slot, rule) for slot in tagged_slots(module)
                if (rule := self.rule(slot)) not in (Rule.DEFAULT, Rule.TIED)]

    def reserved(self, module: nn.Module) -> list[nn.Parameter]:
        """The parameters of ``module`` the stock init must not write: those IDInit writes, and tied weights (the
        input embedding's, which its own slot initializes, whichever module the init pass visits first)."""
        return [param for slot in tagged_slots(module) if self.rule(slot) is not Rule.DEFAULT
                for _, param in slot_parameters(module, slot, with_bias=self.rule(slot) is not Rule.TIED)]


def init_plan(model: nn.Module) -> InitPlan | None:
    """The plan :func:`prepare_model` resolved for ``model`` (None: the model keeps its own init)."""
    return getattr(model, _PLAN, None)


class _NestedInitWeights:
    """The ``_init_weights`` of a nested stock ``PreTrainedModel`` inside an IDInit model.

    Set as an instance attribute, so it shadows the class method for that instance only. A small class rather
    than a closure so that the model stays picklable and deep-copyable.
    """

    def __init__(self, model: PreTrainedModel, plan: InitPlan) -> None:
        self.model = model
        self.plan = plan

    def __call__(self, module: nn.Module) -> None:
        stock = type(self.model)._init_weights.__get__(self.model)
        init_module(module, stock, self.plan)


def prepare_model(model: PreTrainedModel) -> Family | None:
    """Make ``model`` initialize with IDInit if its config asks for it (called by :meth:`IDInitMixin.post_init`).

    Returns the family used, or None when the model keeps its own initialization.

    Raises:
        ValueError: invalid options, or ``init_method="idinit"`` on an architecture with no role table and
            ``idinit_unsupported`` not set to ``"default"``.
    """
    resolved = idinit_family(model.config)
    setattr(model, _PLAN, None)
    if resolved is None:
        return None
    family, options = resolved
    plan = InitPlan(options, tied_embeddings(model.config))
    setattr(model, _PLAN, plan)
    tag_roles(model, family)
    for submodel in model.modules():
        if isinstance(submodel, PreTrainedModel) and not isinstance(submodel, IDInitMixin):
            submodel._init_weights = _NestedInitWeights(submodel, plan)
    for module in model.modules():
        if plan.writes(module) and hasattr(module, INITIALIZED_FLAG):
            delattr(module, INITIALIZED_FLAG)
    return family


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
    exactly ``stock(module)``.
    """
    if plan is None:
        stock(module)
        return
    targets = [module, *(c for c in module.children() if not isinstance(c, PreTrainedModel))]
    owned = [param for target in targets for param in plan.reserved(target)]
    with _reserved(owned):
        stock(module)
    seed = resolve_seed(plan.options)
    for slot, rule in plan.writes(module):
        write_rule(module, slot, rule, plan.options, seed)


def pretrained_config(pretrained_model_name_or_path: Any, kwargs: dict[str, Any], *, load: bool) -> tuple[Any, dict]:
    """The config a ``from_pretrained`` call builds with, and the keyword arguments left for the model.

    ``init_method=`` / ``idinit_*=`` keywords go into the config (transformers would hand unknown keywords to the
    model's ``__init__``). The config is ``kwargs["config"]`` if given; else it is loaded (as transformers'
    Auto classes load it, with the hub keywords) when ``load`` or when there are overrides; else None, and
    transformers loads it as usual.
    """
    kwargs = dict(kwargs)
    overrides = pop_option_kwargs(kwargs)
    config = kwargs.pop("config", None)
    if config is None and (load or overrides):
        hub = {k: kwargs[k] for k in HUB_KWARGS if k in kwargs}
        rest = {k: v for k, v in kwargs.items() if k not in hub}
        config, rest = AutoConfig.from_pretrained(pretrained_model_name_or_path, return_unused_kwargs=True,
                                                  **hub, **rest)
        kwargs = {**hub, **rest}
    if config is not None:
        config = apply_option_overrides(config, overrides)
    return config, kwargs


class _FreshBuild:
    """An IDInit model under construction: built on the meta device with init off, then materialized on
    ``device`` by its post_init. The two contexts are closed there, not at the end of ``__init__``."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.init_off = no_init_weights()  # torch's constructor-time init and the nested models' init passes
        self.meta = torch.device("meta")

    @contextmanager
    def on_meta(self):
        self.init_off.__enter__()
        with meta_device_safe_creation_ops():  # as transformers builds on meta: creation ops that need data on CPU
            self.meta.__enter__()
            try:
                yield
            finally:
                if torch.get_default_device().type == "meta":  # post_init did not get to close it (an error)
                    self.meta.__exit__(None, None, None)


#: The IDInit models under construction (innermost last), each finished by its own post_init.
_FRESH_BUILDS: list[_FreshBuild] = []


def materialize_(model: nn.Module, device: torch.device) -> None:
    """Give every meta parameter and buffer of ``model`` real, uninitialized memory on ``device``: each tensor
    once, so tied weights stay tied and nothing is allocated twice. The init pass then writes every value."""
    replaced: dict[int, nn.Parameter] = {}
    for module in model.modules():
        for name, param in module._parameters.items():
            if param is not None and param.is_meta:
                if id(param) not in replaced:
                    replaced[id(param)] = nn.Parameter(torch.empty_like(param, device=device),
                                                       requires_grad=param.requires_grad)
                module._parameters[name] = replaced[id(param)]
        for name, buffer in module._buffers.items():
            if buffer is not None and buffer.is_meta:
                module._buffers[name] = torch.empty_like(buffer, device=device)
    for module in model.modules():
        if hasattr(module, INITIALIZED_FLAG):
            delattr(module, INITIALIZED_FLAG)


def _builds_fresh(config: Any) -> bool:
    """Whether a model of ``config`` is built with init off, then initialized in one pass: under IDInit, on a real
    device. On the meta device nothing is written anyway (from_pretrained builds there and loads), and DeepSpeed
    ZeRO-3 has its own init-off construction (transformers' zero.Init path)."""
    from transformers.integrations.deepspeed import is_deepspeed_zero3_enabled

    return (getattr(config, "init_method", None) == "idinit" and family_for(config) is not None
            and torch.get_default_device().type != "meta" and not is_deepspeed_zero3_enabled())


class IDInitMixin:
    """Give a transformers model IDInit weights when ``config.init_method == "idinit"``.

    Mix in before the stock class: ``class MyGPT2(IDInitMixin, GPT2LMHeadModel)``. With any other
    ``init_method`` (or none) the model is initialized exactly as the stock class would. Loaded weights are
    never rewritten: every write is guarded by transformers' ``_is_hf_initialized`` flag.
    """

    @classmethod
    def is_custom_code(cls) -> bool:
        # transformers treats classes defined outside its package as custom code: it then skips checkpoint key
        # conversion (stock ViT checkpoints would not load) and parent-level inits. The mixin adds no module or
        # parameter: the modeling code is the stock one, so the stock treatment is the right one.
        return False

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, *args: Any, **kwargs: Any):
        """As transformers' ``from_pretrained``; ``init_method=`` and ``idinit_*=`` keywords update the config.

        Weights in the checkpoint are loaded as they are; only the missing ones get IDInit.
        """
        config, kwargs = pretrained_config(pretrained_model_name_or_path, kwargs, load=False)
        if config is not None:
            kwargs["config"] = config
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    def to_empty(self, *, device: Any, recurse: bool = True):
        """``nn.Module.to_empty``, then forget every module's "already initialized" flag.

        ``to_empty`` hands back uninitialized memory, so flags left by an earlier pass (for instance the one
        transformers runs on meta tensors under ``accelerate.init_empty_weights()``) are stale; without this,
        the following ``init_weights()`` would skip every module and leave garbage in the weights.
        """
        result = super().to_empty(device=device, recurse=recurse)
        for module in self.modules():
            if hasattr(module, INITIALIZED_FLAG):
                delattr(module, INITIALIZED_FLAG)
        return result

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Under IDInit the model is built as transformers builds one for from_pretrained (on the meta device, init
        # off: nothing allocated twice, nothing drawn at random only to be overwritten), then post_init allocates
        # each parameter once on the device the caller asked for and runs the one init pass that writes it: role
        # weights by their rule, the rest by the model's own _init_weights (docs/design.md, issue 13).
        config = args[0] if args else kwargs.get("config")
        if not _builds_fresh(config):
            super().__init__(*args, **kwargs)
            return
        build = _FreshBuild(torch.get_default_device())
        _FRESH_BUILDS.append(build)
        try:
            with build.on_meta():
                super().__init__(*args, **kwargs)
        finally:
            if build in _FRESH_BUILDS:  # post_init never ran (an error in the constructor)
                _FRESH_BUILDS.remove(build)
                build.init_off.__exit__(None, None, None)

    def post_init(self) -> None:
        build = _FRESH_BUILDS.pop() if _FRESH_BUILDS else None
        if build is None:
            prepare_model(self)
            super().post_init()
            return
        build.init_off.__exit__(None, None, None)  # init_weights back on: on meta it only ties the weights
        prepare_model(self)
        super().post_init()
        build.meta.__exit__(None, None, None)
        materialize_(self, build.device)
        self.initialize_weights()
        self.tie_weights(recompute_mapping=False)

    def _init_weights(self, module: nn.Module) -> None:
        init_module(module, super()._init_weights, init_plan(self))
