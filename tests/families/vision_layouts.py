"""Finding the image-classification model types of the installed transformers that have a family's layout (the vision
families' coverage tests): every parameter a tiny model of that type holds, read on the meta device, with the layer
indices and the base model's name taken out, against those of the family's own model type."""

from __future__ import annotations

import re
from functools import cache

import torch
import transformers
from transformers import AutoConfig
from transformers.models.auto import modeling_auto

from idinit_hf.families import Family

IMAGE_CLASSIFIER_TYPES = tuple(modeling_auto.MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES)


@cache
def tiny_classifier(model_type: str, example: tuple):
    """A stock image classifier of ``model_type`` on the meta device built with the example config's sizes, or None
    where such a config cannot be built or is not of that type (configs that need other fields)."""
    try:
        config = AutoConfig.for_model(model_type, **dict(example))
        with torch.device("meta"):
            model = transformers.AutoModelForImageClassification.from_config(config)
    except Exception:
        return None
    return model if model.config.model_type == model_type else None


def layout(model) -> frozenset[str]:
    """The model's parameter names, layer indices as ``N`` and its base model's attribute as ``BASE``."""
    base = re.escape(model.base_model_prefix)
    return frozenset(re.sub(rf"^{base}\.", "BASE.", re.sub(r"\.\d+(?=\.|$)", ".N", name))
                     for name, _ in model.named_parameters())


def example_items(family: Family) -> tuple:
    return tuple((key, tuple(value) if isinstance(value, list) else value) for key, value in family.example.items())


def types_with_the_layout_of(family: Family, extra: frozenset[str] = frozenset()) -> set[str]:
    """Image-classification model types whose tiny model, built from ``family``'s example config, holds exactly the
    parameters of the family's first model type, plus any of ``extra``."""
    reference = layout(tiny_classifier(family.model_types[0], example_items(family)))
    found = set()
    for model_type in IMAGE_CLASSIFIER_TYPES:
        model = tiny_classifier(model_type, example_items(family))
        if model is not None and reference <= layout(model) <= reference | extra:
            found.add(model_type)
    return found
