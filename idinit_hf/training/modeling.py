"""The model config from the flags, and the model built from it (with IDInit when the config asks).

:func:`build_model` is the one place where a model is constructed: the ``idinit_hf`` Auto class of the task
(:data:`~idinit_hf.training.tasks.TASKS`) builds the model with IDInit when ``config.init_method == "idinit"``
and exactly the stock model otherwise.
"""

from __future__ import annotations

import argparse
import copy
import json

from transformers import AutoConfig
from transformers.models.auto import modeling_auto

import idinit_hf
from idinit_hf.families import family_for, idinit_family

from .args import init_options, parse_config_overrides
from .errors import BadInputError, error_summary, loading
from .tasks import TASKS

# Config fields that say nothing about the architecture: ignored when a checkpoint's config is compared.
VOLATILE_CONFIG_KEYS = ("transformers_version", "_name_or_path", "architectures", "dtype", "torch_dtype",
                        "use_cache", "output_attentions", "output_hidden_states", "return_dict")


def base_config(args: argparse.Namespace, task: str):
    """``--config_name`` or the stock config of ``--model_type``, then ``--config_overrides``, then the IDInit
    flags. Raises :class:`BadInputError` on an unknown model type or config key."""
    if args.config_name:
        with loading("--config_name", args.config_name):
            config = AutoConfig.from_pretrained(args.config_name)
    else:
        try:
            config = AutoConfig.for_model(args.model_type)
        except ValueError:
            raise BadInputError(f"--model_type {args.model_type!r} is not a transformers model type") from None
    overrides = parse_config_overrides(args.config_overrides)
    if overrides:
        config = with_overrides(config, overrides)
    for key, value in init_options(args).items():
        setattr(config, key, value)
    check_task(config, task)
    check_init_options(config)
    return config


def with_overrides(config, overrides: dict[str, str]):
    """``config`` rebuilt with the ``--config_overrides`` values (typed as the config's own fields).

    The config is built again from its values rather than edited in place, so that fields derived at
    construction follow: a Qwen2 / Mistral config computes ``layer_types`` (one entry per layer) from
    ``num_hidden_layers``, and saving refuses a config whose list has the old length; a ResNet / ConvNeXt config
    names its stages (``stage_names``, ``out_features``) from ``depths``, a DINOv2 / BEiT one from its layers. A derived list the user did not override is
    therefore dropped and recomputed.
    """
    typed = copy.deepcopy(config)
    lists = {key: _list_value(config, key, text) for key, text in overrides.items() if text.startswith("[")}
    scalars = {key: text for key, text in overrides.items() if key not in lists}
    try:
        if scalars:
            typed.update_from_string(",".join(f"{k}={v}" for k, v in scalars.items()))
    except ValueError as error:
        raise BadInputError(f"--config_overrides: {error}") from None
    values = {**config.to_dict(), **{key: getattr(typed, key) for key in scalars}, **lists}
    if "num_hidden_layers" in overrides and "layer_types" not in overrides:
        values.pop("layer_types", None)
    if {"depths", "num_hidden_layers"} & set(overrides):  # a backbone's stages: ResNet's, ConvNeXt's, DINOv2's layers
        for derived in ("stage_names", "out_features", "out_indices"):
            if derived not in overrides:
                values.pop(derived, None)
    try:
        return type(config).from_dict(values)
    except (ValueError, TypeError) as error:
        raise BadInputError(f"--config_overrides: {error_summary(error)}") from None


def _list_value(config, key: str, text: str) -> list:
    """A ``[...]`` value of ``--config_overrides`` (a JSON list: ``[16,32]``) for a key the config has."""
    if not hasattr(config, key):
        raise BadInputError(f"--config_overrides: key {key} isn't in the original config dict")
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise BadInputError(f"--config_overrides: {key}={text} is not a list (e.g. [16,32])")
    return value


def check_task(config, task: str) -> None:
    """The architecture must have a head for the script's task (e.g. no BERT for the causal-LM script)."""
    spec = TASKS[task]
    if config.model_type not in getattr(modeling_auto, spec.head_mapping):
        raise BadInputError(f"model type {config.model_type!r} has no {spec.auto_class} head in transformers")


def check_init_options(config) -> None:
    """IDInit's own decision (:func:`idinit_hf.families.idinit_family`: valid options, an architecture with a
    role table) made before any data is loaded, as a :class:`BadInputError`."""
    try:
        idinit_family(config)
    except ValueError as error:
        raise BadInputError(str(error)) from None


def context_length(config) -> int:
    """The longest sequence the model accepts: its family's own rule where it has one (RoBERTa numbers positions
    from ``pad_token_id + 1``: ``Family.context_length``), else ``n_positions`` (GPT-2) or
    ``max_position_embeddings``."""
    family = family_for(config)
    if family is not None and family.context_length is not None:
        return family.context_length(config)
    for key in ("n_positions", "max_position_embeddings"):
        if getattr(config, key, None):
            return int(getattr(config, key))
    raise BadInputError(f"cannot tell the context length of model type {config.model_type!r}")


def set_tokenizer_fields(config, tokenizer) -> None:
    """Vocabulary size and special-token ids of the config, from the tokenizer (they must agree): bos, eos and pad,
    and [CLS], [SEP], [MASK] where the config has such fields (ModernBERT, ESM). An id the tokenizer does not have and
    that lies outside its vocabulary (ModernBERT's default bos 50281 under a trained WordPiece) becomes None."""
    config.vocab_size = len(tokenizer)
    for name in ("bos", "eos", "pad", "cls", "sep", "mask"):
        key = f"{name}_token_id"
        token_id = getattr(tokenizer, key, None)
        if token_id is not None and (name in ("bos", "eos", "pad") or hasattr(config, key)):
            setattr(config, key, token_id)
        elif isinstance(getattr(config, key, None), int) and getattr(config, key) >= config.vocab_size:
            setattr(config, key, None)


def build_model(task: str, config):
    """The model of ``task`` from ``config``: IDInit if ``config.init_method == "idinit"``, stock init otherwise."""
    return getattr(idinit_hf, TASKS[task].auto_class).from_config(config)


def enable_gradient_checkpointing(model) -> None:
    """``--gradient_checkpointing``: the transformers model's own switch, non-reentrant (works with DDP, FSDP and
    torch.compile; dropout masks are replayed, so the loss is the same as without it)."""
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise BadInputError(f"--gradient_checkpointing: {type(model).__name__} does not support gradient "
                            "checkpointing")
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def architecture_differences(saved: dict, current: dict, limit: int = 5) -> list[str]:
    """``key: saved → current`` for config fields that differ (ignoring :data:`VOLATILE_CONFIG_KEYS`)."""
    keys = sorted((set(saved) | set(current)) - set(VOLATILE_CONFIG_KEYS))
    diffs = [f"{k}={saved.get(k)!r} in the checkpoint, {current.get(k)!r} now" for k in keys
             if saved.get(k) != current.get(k)]
    return diffs[:limit]
