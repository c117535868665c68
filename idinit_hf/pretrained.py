"""``from_pretrained`` keywords that belong to the config: ``init_method=`` and ``idinit_*=``.

transformers hands keyword arguments that are not attributes of the loaded config to the model's ``__init__``;
IDInit's options must reach the config instead, so that only the weights missing from the checkpoint get IDInit
under the options asked for. Used by :class:`idinit_hf.IDInitMixin` and the Auto classes of :mod:`idinit_hf.models`.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig

from .options import apply_option_overrides, pop_option_kwargs

__all__ = ["HUB_KWARGS", "pretrained_config"]

#: Keyword arguments that say where to find a checkpoint: the config and the weights must both see them.
HUB_KWARGS = ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")


def pretrained_config(pretrained_model_name_or_path: Any, kwargs: dict[str, Any], *, load: bool) -> tuple[Any, dict]:
    """The config a ``from_pretrained`` call builds with, and the keyword arguments left for the model.

    ``init_method=`` / ``idinit_*=`` keywords go into the config. The config is ``kwargs["config"]`` if given;
    else it is loaded (as transformers' Auto classes load it, with the hub keywords) when ``load`` or when there
    are overrides; else None, and transformers loads it as usual.
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
