"""How the IDInit rules reach every layer of a transformers model, without touching a loaded or kept weight.

transformers 5.x initializes a model with ``initialize_weights``, which walks the module tree and hands every
*nested* ``PreTrainedModel`` (``transformer`` in ``GPT2LMHeadModel``, ``bert``, ``vit``) to that submodel's own
``_init_weights``. Overriding ``_init_weights`` on the head class alone therefore never reaches the body
(docs/design.md). :class:`IDInitMixin` instead, in ``post_init`` (:func:`prepare_model`):

1. resolves the :class:`~idinit_hf.plan.InitPlan` once for the model and tags each module that holds a role's
   parameters with its :class:`~idinit_hf.roles.Slot` (:func:`idinit_hf.patterns.tag_roles`);
2. makes every nested ``PreTrainedModel`` *instance* dispatch its ``_init_weights`` to IDInit (an instance
   attribute: the nested *class* stays stock, so checkpoint conversion and saving are unchanged);
3. the first time only (while the model is being constructed), clears the module-level ``_is_hf_initialized``
   flags that the nested models' own ``post_init`` left on the modules IDInit rewrites, so that the outer pass
   visits them again. A later ``post_init()`` (after ``resize_token_embeddings``, say) clears nothing: what
   transformers flagged as kept stays kept.

Under ``init_method="idinit"`` the constructor itself is the one-write build of :mod:`idinit_hf.build`.
"""

from __future__ import annotations

import functools
from typing import Any

from torch import nn
from transformers import PreTrainedModel

from .build import build_deferred, builds_deferred, clear_initialized_flags, reshare_, shared_parameters
from .families import Family
from .patterns import INITIALIZED_FLAG, tag_roles
from .plan import InitPlan, init_module
from .pretrained import pretrained_config

__all__ = ["IDInitMixin", "prepare_model", "init_plan"]

_PLAN = "_idinit_plan"  # on the model: the InitPlan that prepare_model resolved (None: the stock init)


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
    first_time = _PLAN not in vars(model)
    plan = InitPlan.for_config(model.config)
    setattr(model, _PLAN, plan)
    if plan is None:
        return None
    tag_roles(model, plan.family)
    for submodel in model.modules():
        if isinstance(submodel, PreTrainedModel) and not isinstance(submodel, IDInitMixin):
            submodel._init_weights = _NestedInitWeights(submodel, plan)
    if first_time:
        for module in model.modules():
            if plan.writes(module) and hasattr(module, INITIALIZED_FLAG):
                delattr(module, INITIALIZED_FLAG)
    return plan.family


def _next_in_mro(cls: type, after: type, name: str) -> Any:
    """The attribute ``name`` as the class after ``after`` in ``cls``'s MRO defines it (the stock one)."""
    mro = cls.__mro__
    for base in mro[mro.index(after) + 1:]:
        if name in vars(base):
            return vars(base)[name]
    raise AttributeError(name)


def _stock_base(cls: type) -> type:
    """The stock class an IDInit class mixes :class:`IDInitMixin` into (the next class in its MRO)."""
    mro = cls.__mro__
    return mro[mro.index(IDInitMixin) + 1]


class IDInitMixin:
    """Give a transformers model IDInit weights when ``config.init_method == "idinit"``.

    Mix in before the stock class: ``class MyGPT2(IDInitMixin, GPT2LMHeadModel)``. With any other
    ``init_method`` (or none) the model is initialized exactly as the stock class would. Loaded weights are
    never rewritten: every write is guarded by transformers' ``_is_hf_initialized`` flag. The class keeps the
    stock class's contracts: its constructor and ``from_pretrained`` show the stock signatures and docstrings.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Code that introspects a model class (transformers' own tests, integrations) reads the signatures of
        # __init__ and from_pretrained: a class that mixes IDInitMixin in gets its own wrappers carrying the stock
        # class's signature and docstring (functools.update_wrapper sets __wrapped__, which inspect follows).
        super().__init_subclass__(**kwargs)
        if IDInitMixin not in cls.__bases__:
            return  # a subclass of an IDInit class inherits the wrappers (or defines its own methods)
        if "__init__" not in vars(cls):
            def __init__(self, *args: Any, **kw: Any) -> None:
                IDInitMixin.__init__(self, *args, **kw)

            cls.__init__ = functools.update_wrapper(__init__, _next_in_mro(cls, IDInitMixin, "__init__"))
        if "from_pretrained" not in vars(cls):
            stock = _next_in_mro(cls, IDInitMixin, "from_pretrained").__func__

            def from_pretrained(klass, *args: Any, **kw: Any):
                return IDInitMixin.from_pretrained.__func__(klass, *args, **kw)

            cls.from_pretrained = classmethod(functools.update_wrapper(from_pretrained, stock))

    @classmethod
    def is_custom_code(cls) -> bool:
        # transformers treats classes defined outside its package as custom code: it then skips checkpoint key
        # conversion (stock ViT checkpoints would not load) and parent-level inits. The mixin adds no module or
        # parameter: the modeling code is the stock one, so the stock treatment is the right one.
        return False

    @classmethod
    def _can_set_attn_implementation(cls) -> bool:
        # transformers decides this (and the next) by reading the source of the class's module: here
        # idinit_hf.models, which holds no modeling code. The modeling code is the stock class's: ask it.
        return _stock_base(cls)._can_set_attn_implementation()

    @classmethod
    def _can_set_experts_implementation(cls) -> bool:
        # Without this a mixture of experts under IDInit silently ran the "eager" experts loop where the stock class
        # runs "grouped_mm", and a config that names "grouped_mm" (saved by a stock model) was refused.
        return _stock_base(cls)._can_set_experts_implementation()

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
        """``nn.Module.to_empty``, keeping tied weights tied, then forget every module's "already initialized" flag.

        ``to_empty`` hands back uninitialized memory, so flags left by an earlier pass (for instance the one
        transformers runs on meta tensors under ``accelerate.init_empty_weights()``) are stale; without this,
        the following ``init_weights()`` would skip every module and leave garbage in the weights.

        From the meta device torch's ``to_empty`` unties shared parameters (:func:`~idinit_hf.build.reshare_`); they
        are shared again, so the init pass sees the model a real build sees (one tensor per tied group, T5's alias
        tables found as aliases) and draws exactly what that build draws, in the same order.
        """
        groups = shared_parameters(self) if recurse else []  # recurse=False moves no child: nothing to untie
        result = super().to_empty(device=device, recurse=recurse)
        reshare_(groups)
        clear_initialized_flags(self)
        return result

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Under IDInit the model is built as transformers builds one for from_pretrained (parameters deferred to
        # the meta device, init off: nothing allocated twice, nothing drawn at random only to be overwritten), then
        # each parameter is allocated once on the caller's device and written once (idinit_hf/build.py).
        config = args[0] if args else kwargs.get("config")
        if builds_deferred(config):
            build_deferred(self, lambda: super(IDInitMixin, self).__init__(*args, **kwargs))
        else:
            super().__init__(*args, **kwargs)

    def post_init(self) -> None:
        prepare_model(self)
        super().post_init()

    def initialize_weights(self) -> None:
        # Weights tied since post_init tagged the model (T5 ties its stacks' tables to ``shared`` only in the
        # outermost post_init, after the tags): tag again, so that an alias slot holding another slot's tensor is
        # written there and not twice (Slot.alias). Every init pass goes through here.
        plan = init_plan(self)
        if plan is not None:
            tag_roles(self, plan.family)
        super().initialize_weights()

    def _init_weights(self, module: nn.Module) -> None:
        init_module(module, super()._init_weights, init_plan(self))
