"""Ready-made IDInit model classes and Auto classes, generated from the registry (:data:`idinit_hf.FAMILIES`).

For every model type a family covers and every task of :data:`AUTO_CLASSES`, transformers' own Auto mapping
names the stock class (``"llama"`` + causal LM → ``LlamaForCausalLM``); the IDInit class is ``IDInitMixin`` + that
class, built on first use and exported as ``idinit_hf.IDInit<stock name>`` (``IDInitLlamaForCausalLM``). Its
``__name__`` is the stock one, so that ``config.json`` records the stock architecture (``"LlamaForCausalLM"``) and
the checkpoint loads with stock transformers alone. Python finds the class by its ``__qualname__``
(``IDInitLlamaForCausalLM``) in this module, so pickling works. Adding a family to the registry adds its classes
here, in the Auto classes and in ``__all__``, with no edit to this file.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import transformers
from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel
from transformers.models.auto import modeling_auto

from .families import FAMILIES, idinit_family
from .mixin import IDInitMixin
from .pretrained import pretrained_config

#: The Auto classes idinit_hf mirrors, and the name of transformers' mapping each reads its classes from.
AUTO_CLASSES: dict[str, str] = {
    "AutoModel": "MODEL_MAPPING_NAMES",
    "AutoModelForCausalLM": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
    "AutoModelForMaskedLM": "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
    "AutoModelForPreTraining": "MODEL_FOR_PRETRAINING_MAPPING_NAMES",
    "AutoModelForSequenceClassification": "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
    "AutoModelForTokenClassification": "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES",
    "AutoModelForQuestionAnswering": "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES",
    "AutoModelForImageClassification": "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES",
    "AutoModelForMaskedImageModeling": "MODEL_FOR_MASKED_IMAGE_MODELING_MAPPING_NAMES",
    "AutoModelForSeq2SeqLM": "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES",
}


def stock_class_names(auto_name: str) -> dict[str, str]:
    """model type → stock class name, for the model types of the registry that ``auto_name`` can build."""
    mapping = getattr(modeling_auto, AUTO_CLASSES[auto_name])
    return {t: mapping[t] for family in FAMILIES for t in family.model_types
            if isinstance(mapping.get(t), str)}


#: ``IDInit<stock name>`` → stock name, for every class the registry generates (names only: nothing imported).
IDINIT_CLASS_NAMES: dict[str, str] = {
    f"IDInit{name}": name for auto in AUTO_CLASSES for name in stock_class_names(auto).values()
}


@cache
def idinit_class(stock: type[PreTrainedModel]) -> type[PreTrainedModel]:
    """``IDInitMixin`` + ``stock``, named like ``stock`` so that saved configs stay stock (one class per stock one).

    A generative stock class lists ``GenerationMixin`` among its own bases, and transformers 5.x checks exactly that
    (``PreTrainedModel.can_generate`` reads ``str(cls.__bases__)`` first; its common tests assert it): the IDInit
    class lists it too. It already follows ``stock`` in the MRO, so the MRO is unchanged: ``IDInitMixin``, then
    ``stock``'s own."""
    generation = (GenerationMixin,) if GenerationMixin in stock.__bases__ else ()
    cls = type(stock.__name__, (IDInitMixin, stock, *generation), {"__module__": __name__, "__doc__": stock.__doc__})
    cls.__qualname__ = f"IDInit{stock.__name__}"
    return cls


def __getattr__(name: str) -> type[PreTrainedModel]:
    """``IDInit<stock name>`` classes, built on first use (importing every model's code up front would be slow)."""
    if name in IDINIT_CLASS_NAMES:
        return idinit_class(getattr(transformers, IDINIT_CLASS_NAMES[name]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _IDInitAutoClass:
    """Like a transformers Auto class, but builds the IDInit class for the config's ``model_type``.

    Architectures with no role table: with ``init_method="idinit"`` a ValueError (unless
    ``idinit_unsupported="default"``); otherwise the stock Auto class builds the model unchanged.
    """

    _stock_auto: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise OSError(f"{type(self).__name__} is built with from_config(config) or from_pretrained(path)")

    @classmethod
    def _class_for(cls, config: PretrainedConfig) -> type[PreTrainedModel] | None:
        """The IDInit class, or None where the stock Auto class must build the model."""
        names = stock_class_names(cls.__name__)
        resolved = idinit_family(config)  # validates; raises for an architecture with no role table
        if config.model_type in names:
            return idinit_class(getattr(transformers, names[config.model_type]))
        if resolved is None:
            return None
        raise ValueError(f"{cls.__name__} has no IDInit class for model_type={config.model_type!r} "
                         f"(supported: {', '.join(map(repr, names)) or 'none'})")

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


def _auto(name: str) -> type[_IDInitAutoClass]:
    return type(name, (_IDInitAutoClass,), {"__module__": __name__, "_stock_auto": getattr(transformers, name),
                                            "__doc__": f"{name} of transformers, with IDInit when the config asks."})


AutoModel = _auto("AutoModel")
AutoModelForCausalLM = _auto("AutoModelForCausalLM")
AutoModelForMaskedLM = _auto("AutoModelForMaskedLM")
AutoModelForPreTraining = _auto("AutoModelForPreTraining")
AutoModelForSequenceClassification = _auto("AutoModelForSequenceClassification")
AutoModelForTokenClassification = _auto("AutoModelForTokenClassification")
AutoModelForQuestionAnswering = _auto("AutoModelForQuestionAnswering")
AutoModelForImageClassification = _auto("AutoModelForImageClassification")
AutoModelForMaskedImageModeling = _auto("AutoModelForMaskedImageModeling")
AutoModelForSeq2SeqLM = _auto("AutoModelForSeq2SeqLM")
assert set(AUTO_CLASSES) == {name for name in globals() if name.startswith("Auto")}  # one class per mapping

__all__ = ["idinit_class", "stock_class_names", "AUTO_CLASSES", "IDINIT_CLASS_NAMES", *AUTO_CLASSES,
           *IDINIT_CLASS_NAMES]
