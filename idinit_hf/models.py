"""Ready-made IDInit model classes and Auto classes that dispatch on the config.

Each class is ``IDInitMixin`` + the stock transformers class, and its ``__name__`` is the stock one, so that
``config.json`` records the stock architecture (``"GPT2LMHeadModel"``) and the checkpoint loads with stock
transformers alone. Python finds the class by its ``__qualname__`` (``IDInitGPT2LMHeadModel``), so pickling works.
"""

from __future__ import annotations

import os
from typing import Any

import transformers
from transformers import PretrainedConfig, PreTrainedModel

from .families import idinit_family
from .mixin import IDInitMixin, pretrained_config

__all__ = [
    "idinit_class",
    "IDInitGPT2Model", "IDInitGPT2LMHeadModel", "IDInitGPT2ForSequenceClassification",
    "IDInitBertModel", "IDInitBertForMaskedLM", "IDInitBertForPreTraining", "IDInitBertForSequenceClassification",
    "IDInitBertLMHeadModel",
    "IDInitViTModel", "IDInitViTForImageClassification", "IDInitViTForMaskedImageModeling",
    "AutoModel", "AutoModelForCausalLM", "AutoModelForMaskedLM", "AutoModelForPreTraining",
    "AutoModelForSequenceClassification", "AutoModelForImageClassification", "AutoModelForMaskedImageModeling",
]

def idinit_class(stock: type[PreTrainedModel]) -> type[PreTrainedModel]:
    """``IDInitMixin`` + ``stock``, named like ``stock`` so that saved configs stay stock."""
    cls = type(stock.__name__, (IDInitMixin, stock), {"__module__": __name__, "__doc__": stock.__doc__})
    cls.__qualname__ = f"IDInit{stock.__name__}"
    return cls


IDInitGPT2Model = idinit_class(transformers.GPT2Model)
IDInitGPT2LMHeadModel = idinit_class(transformers.GPT2LMHeadModel)
IDInitGPT2ForSequenceClassification = idinit_class(transformers.GPT2ForSequenceClassification)
IDInitBertModel = idinit_class(transformers.BertModel)
IDInitBertForMaskedLM = idinit_class(transformers.BertForMaskedLM)
IDInitBertForPreTraining = idinit_class(transformers.BertForPreTraining)
IDInitBertForSequenceClassification = idinit_class(transformers.BertForSequenceClassification)
IDInitBertLMHeadModel = idinit_class(transformers.BertLMHeadModel)
IDInitViTModel = idinit_class(transformers.ViTModel)
IDInitViTForImageClassification = idinit_class(transformers.ViTForImageClassification)
IDInitViTForMaskedImageModeling = idinit_class(transformers.ViTForMaskedImageModeling)



class _IDInitAutoClass:
    """Like a transformers Auto class, but builds the IDInit class for the config's ``model_type``.

    Architectures with no role table: with ``init_method="idinit"`` a ValueError (unless
    ``idinit_unsupported="default"``); otherwise the stock Auto class builds the model unchanged.
    """

    _stock_auto: Any = None
    _classes: dict[str, type[PreTrainedModel]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise OSError(f"{type(self).__name__} is built with from_config(config) or from_pretrained(path)")

    @classmethod
    def _class_for(cls, config: PretrainedConfig) -> type[PreTrainedModel] | None:
        """The IDInit class, or None where the stock Auto class must build the model."""
        model_class = cls._classes.get(config.model_type)
        resolved = idinit_family(config)  # validates; raises for an architecture with no role table
        if model_class is not None or resolved is None:
            return model_class
        known = ", ".join(repr(t) for t in cls._classes) or "none"
        raise ValueError(f"{cls.__name__} has no IDInit class for model_type={config.model_type!r} "
                         f"(supported: {known})")

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs: Any) -> PreTrainedModel:
        """Build a freshly initialized model for ``config`` (IDInit when ``config.init_method == "idinit"``)."""
        model_class = cls._class_for(config)
        if model_class is None:
            return cls._stock_auto.from_config(config, **kwargs)
        return model_class._from_config(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any):
        """Load a checkpoint (hub name or local folder); weights missing from it get IDInit if the config says so.

        Extra keyword arguments that are config attributes (``init_method="idinit"``) update the config.
        """
        config, kwargs = pretrained_config(pretrained_model_name_or_path, kwargs, load=True)
        model_class = cls._class_for(config)
        if model_class is None:
            return cls._stock_auto.from_pretrained(pretrained_model_name_or_path, *args, config=config, **kwargs)
        return model_class.from_pretrained(pretrained_model_name_or_path, *args, config=config, **kwargs)


def _auto(name: str, stock_auto: Any, classes: dict[str, type[PreTrainedModel]]) -> type[_IDInitAutoClass]:
    return type(name, (_IDInitAutoClass,), {"__module__": __name__, "_stock_auto": stock_auto, "_classes": classes})


AutoModel = _auto(
    "AutoModel", transformers.AutoModel, {"gpt2": IDInitGPT2Model, "bert": IDInitBertModel, "vit": IDInitViTModel}
)
AutoModelForCausalLM = _auto(
    "AutoModelForCausalLM", transformers.AutoModelForCausalLM, {"gpt2": IDInitGPT2LMHeadModel, "bert": IDInitBertLMHeadModel}
)
AutoModelForMaskedLM = _auto("AutoModelForMaskedLM", transformers.AutoModelForMaskedLM, {"bert": IDInitBertForMaskedLM})
AutoModelForPreTraining = _auto(
    "AutoModelForPreTraining", transformers.AutoModelForPreTraining,
    {"gpt2": IDInitGPT2LMHeadModel, "bert": IDInitBertForPreTraining},
)
AutoModelForSequenceClassification = _auto(
    "AutoModelForSequenceClassification", transformers.AutoModelForSequenceClassification,
    {"gpt2": IDInitGPT2ForSequenceClassification, "bert": IDInitBertForSequenceClassification},
)
AutoModelForImageClassification = _auto(
    "AutoModelForImageClassification", transformers.AutoModelForImageClassification,
    {"vit": IDInitViTForImageClassification},
)
AutoModelForMaskedImageModeling = _auto(
    "AutoModelForMaskedImageModeling", transformers.AutoModelForMaskedImageModeling,
    {"vit": IDInitViTForMaskedImageModeling},
)
