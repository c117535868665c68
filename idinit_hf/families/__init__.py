"""The registry of architecture families: one role table per architecture. To add an architecture, add a module
with a :class:`~idinit_hf.families.Family` and list it in :data:`FAMILIES`.

This is also the one place that decides, for a config, whether IDInit applies: :func:`idinit_family` (the
family and its validated options, None for the model's own init, or the "no role table" error).
"""

from __future__ import annotations

import logging
from typing import Any

from ..options import IDInitOptions, validate_options
from .bart import BART, MBART
from .beit import BEIT
from .bert import BERT
from .bert_prenorm import BERT_PRENORM
from .bloom import BLOOM
from .codegen import CODEGEN
from .cohere import COHERE
from .convnext import CONVNEXT
from .convnextv2 import CONVNEXT_V2
from .coverage import refusal_reason
from .deberta_v2 import DEBERTA_V2
from .deepseek_v3 import DEEPSEEK_V3
from .dinov2 import DINOV2
from .falcon import FALCON
from .family import Family
from .gemma2 import GEMMA2
from .gemma4_unified import GEMMA4_UNIFIED
from .gpt2 import GPT2
from .gpt_neo import GPT_NEO
from .gpt_neox import GPT_NEOX
from .gpt_oss import GPT_OSS
from .gptj import GPTJ
from .hyperclovax import HYPERCLOVAX
from .llama import LLAMA
from .mixtral import MIXTRAL
from .modernbert import MODERNBERT
from .nemotron import NEMOTRON
from .olmo2 import OLMO2
from .opt import OPT
from .persimmon import PERSIMMON
from .phi import PHI
from .phi3 import PHI3
from .qwen2_moe import QWEN2_MOE
from .regnet import REGNET
from .resnet import RESNET
from .roberta import ROBERTA
from .starcoder2 import STARCODER2
from .t5 import T5
from .vaultgemma import VAULTGEMMA
from .vit import VIT

__all__ = ["FAMILIES", "Family", "LLAMA", "family_for", "supported_model_types", "read_options", "idinit_family",
           "tied_embeddings", "UnsupportedArchitectureError", "OLMO2", "GEMMA2", "VAULTGEMMA",
           "GEMMA4_UNIFIED", "HYPERCLOVAX"]

logger = logging.getLogger(__name__)

FAMILIES: tuple[Family, ...] = (GPT2, BERT, VIT, LLAMA)
# issue 20: parallel blocks, fused projections and other non-Llama decoder layouts
FAMILIES += (GPT_NEOX, PHI3, GPTJ, FALCON, OPT, GPT_NEO, STARCODER2, BLOOM, PHI, COHERE, NEMOTRON, PERSIMMON, CODEGEN)
# issue 20: mixtures of experts
FAMILIES += (MIXTRAL, QWEN2_MOE, DEEPSEEK_V3, GPT_OSS)
# issue 20: branches that end in a norm (post-norm / sandwich decoders)
FAMILIES += (OLMO2, GEMMA2, VAULTGEMMA, GEMMA4_UNIFIED, HYPERCLOVAX)
# issue 21: encoders (BERT's siblings, pre-LN BERTs, ModernBERT, DeBERTa-v2)
FAMILIES += (ROBERTA, BERT_PRENORM, MODERNBERT, DEBERTA_V2)
# issue 21: encoder-decoders (T5, BART post-LN, mBART pre-LN)
FAMILIES += (T5, BART, MBART)
# issue 21: residual convolutional networks and vision transformers with layer scale
FAMILIES += (RESNET, REGNET, CONVNEXT, CONVNEXT_V2, DINOV2, BEIT)


class UnsupportedArchitectureError(ValueError):
    """``init_method="idinit"`` on an architecture that no family covers."""


def supported_model_types() -> tuple[str, ...]:
    return tuple(t for family in FAMILIES for t in family.model_types)


def family_for(config: Any) -> Family | None:
    """The family whose table covers ``config.model_type``, or None."""
    model_type = getattr(config, "model_type", None)
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    return None


def tied_embeddings(config: Any) -> bool:
    """Whether output embeddings share the input embedding's weight (transformers' default is True)."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return bool(getattr(text_config, "tie_word_embeddings", True))


def read_options(config: Any) -> IDInitOptions | None:
    """The validated options (with the architecture's own defaults) when the config asks for IDInit, else None.

    Options are validated even when ``init_method`` is ``"default"``, so a typo never goes unnoticed.
    """
    family = family_for(config)
    options = validate_options(config, family.option_defaults if family is not None else ())
    return options if getattr(config, "init_method", None) == "idinit" else None


def unsupported_message(config: Any) -> str:
    model_type = getattr(config, "model_type", None)
    reason = refusal_reason(model_type)
    return (f"init_method='idinit' has no role table for model_type={model_type!r}; "
            f"supported: {', '.join(map(repr, supported_model_types()))}"
            + (f". {model_type!r} is refused: {reason}" if reason else ""))


def idinit_family(config: Any) -> tuple[Family, IDInitOptions] | None:
    """The family and options IDInit uses for ``config``, or None where the model keeps its own initialization.

    None when ``init_method`` is absent or ``"default"``, and for an architecture with no role table under
    ``idinit_unsupported="default"`` (logged as a warning).

    Raises:
        ValueError: invalid options.
        UnsupportedArchitectureError: ``init_method="idinit"`` on an architecture with no role table.
    """
    options = read_options(config)
    if options is None:
        return None
    family = family_for(config)
    if family is not None:
        return family, options
    message = unsupported_message(config)
    if options.unsupported == "default":
        logger.warning("%s; using the model's default initialization (idinit_unsupported='default')", message)
        return None
    raise UnsupportedArchitectureError(
        f"{message}. Set idinit_unsupported='default' to fall back to the default initialization.")
