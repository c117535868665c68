"""The flag alone: ``init_method="idinit"`` honoured by transformers' own Auto classes, and IDInit for models built
elsewhere.

* :func:`install` registers, with transformers' own extension point (``AutoModel….register``), the IDInit class of
  every stock class the registry covers. ``transformers.AutoModelForCausalLM.from_config(config)`` then builds
  exactly what ``idinit_hf.AutoModelForCausalLM`` builds: IDInit weights when the config asks, the stock weights
  bit for bit otherwise (the IDInit classes only act on ``init_method="idinit"``). Their ``__name__`` is the stock
  one, so saved checkpoints stay stock. :func:`uninstall` puts back what was registered before.
* :func:`apply_` rewrites the role weights of a model built anywhere (a stock class, a training framework).

Why Auto registration and not transformers' patch mapping (``register_patch_mapping``): the patch mapping swaps
classes by name inside ``from_config`` / ``from_pretrained`` but not the outermost class the Auto class picked, which
is the one whose ``post_init`` must prepare the nested models; registration replaces exactly that choice, is keyed
by config class (so it covers every model type of the registry and nothing else), and is undone by removing the
keys it added (docs/design.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
import transformers
from torch import nn
from transformers.models.auto.configuration_auto import CONFIG_MAPPING

from .families import FAMILIES, UnsupportedArchitectureError, family_for, unsupported_message
from .mixin import IDInitMixin
from .models import AUTO_CLASSES, idinit_class
from .options import apply_option_overrides
from .patterns import INITIALIZED_FLAG, partitioned_parameters, slot_parameters, write_rule
from .plan import InitPlan
from .roles import Rule

__all__ = ["install", "uninstall", "installed", "apply_"]

_ABSENT = object()
#: (Auto class name, config class) → what that Auto class's registry held for it before install()
_REGISTERED: dict[tuple[str, type], Any] = {}


@cache
def _stock_class(auto_name: str, config_class: type) -> Any:
    """The class transformers' own tables give ``auto_name`` for ``config_class`` (None: no such head).

    Cached: the lookup scans transformers' lazy tables and costs milliseconds, hundreds of times per
    :func:`install`. Only asked for a config class with no registration of its own (:func:`_targets`), so the cache
    holds the tables' answer, never a registration's."""
    try:
        return getattr(transformers, auto_name)._model_mapping[config_class]
    except KeyError:  # no such head for this model type
        return None


def _targets():
    """(stock Auto class, config class, stock model class) for every model type of the registry and every Auto
    class that can build it; a class registered with the Auto class for that config (``register``) is the stock
    one."""
    for auto_name in AUTO_CLASSES:
        stock_auto = getattr(transformers, auto_name)
        registered = stock_auto._model_mapping._extra_content
        for model_type in (t for family in FAMILIES for t in family.model_types):
            config_class = CONFIG_MAPPING[model_type]
            stock = registered[config_class] if config_class in registered else _stock_class(auto_name, config_class)
            if isinstance(stock, type):
                yield auto_name, stock_auto, config_class, stock


def install() -> None:
    """Make transformers' Auto classes build IDInit models when the config says ``init_method="idinit"``.

    Idempotent. Affects the whole process (transformers' Auto registry is global); :func:`uninstall` undoes it.
    ``import idinit_hf`` alone changes nothing.
    """
    for auto_name, stock_auto, config_class, stock in _targets():
        key = (auto_name, config_class)
        if key in _REGISTERED:
            continue
        extra = stock_auto._model_mapping._extra_content
        _REGISTERED[key] = extra.get(config_class, _ABSENT)
        model_class = stock if issubclass(stock, IDInitMixin) else idinit_class(stock)
        # the mapping's own register: the Auto class's one refuses a class whose config_class is another config
        # class than the key (exaone → LlamaForCausalLM), which is how transformers itself maps such model types
        stock_auto._model_mapping.register(config_class, model_class, exist_ok=True)


def uninstall() -> None:
    """Put back exactly what transformers' Auto classes held before :func:`install`."""
    for (auto_name, config_class), previous in list(_REGISTERED.items()):
        extra = getattr(transformers, auto_name)._model_mapping._extra_content
        if previous is _ABSENT:
            extra.pop(config_class, None)
        else:
            extra[config_class] = previous
        del _REGISTERED[(auto_name, config_class)]


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return bool(_REGISTERED)


@torch.no_grad()
def apply_(model: nn.Module, **options: Any) -> nn.Module:
    """Rewrite, in place, every role weight of ``model`` with its IDInit rule, record ``init_method="idinit"`` and
    the options in its config, and return it (``idinit_hf.verify(model).ok`` is then True).

    For fresh models built elsewhere (a stock class, a custom training framework). It overwrites what the role
    weights hold, trained or loaded weights included; weights IDInit leaves to the library (embeddings, norms and
    heads, unless an option says otherwise) are not touched. ``options`` are the ``idinit_*`` config options, with
    or without the prefix: ``apply_(model, tau=0.5)`` or ``apply_(model, idinit_tau=0.5)``.

    Raises:
        ValueError: an invalid option (the message of the config path), or an architecture with no role table
            (even under ``idinit_unsupported="default"``: there is nothing to apply).
    """
    overrides = {"init_method": "idinit",
                 **{key if key.startswith("idinit_") else f"idinit_{key}": value for key, value in options.items()}}
    config = apply_option_overrides(model.config, overrides)  # a validated copy: the model's is untouched so far
    if family_for(config) is None:
        raise UnsupportedArchitectureError(unsupported_message(config))
    plan = InitPlan.for_config(config)
    partitioned = partitioned_parameters(model)
    if partitioned:
        raise ValueError(f"apply_() needs the full weights, but {partitioned[0]} is a DeepSpeed ZeRO-3 partition: "
                         "call it inside deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=0)")
    for located, rule in plan.located(model):
        if rule in (Rule.DEFAULT, Rule.TIED):
            continue
        # the weights are rewritten whatever they hold: they no longer are what was loaded
        for _, param in slot_parameters(located.module, located.slot, with_bias=True):
            if hasattr(param, INITIALIZED_FLAG):
                delattr(param, INITIALIZED_FLAG)
        write_rule(located.module, located.slot, rule, plan.options, plan.seed, located)
    for key, value in overrides.items():
        setattr(model.config, key, value)
    return model
