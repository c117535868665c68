"""The tiny model of every family in the registry, and real inputs for it: what every per-family test builds.

Nothing here names a family: a family added to ``idinit_hf.FAMILIES`` (with its ``example`` config and
``pretraining`` head) is tested by every test that loops over :data:`NAMES`.
"""

from __future__ import annotations

import torch
import transformers
from realdata import digits, text_batch

import idinit_hf
from idinit_hf.roles import Family

NAMES = [family.name for family in idinit_hf.FAMILIES]
PRE_LN = [family.name for family in idinit_hf.FAMILIES if family.norm_position == "pre"]
POST_LN = [family.name for family in idinit_hf.FAMILIES if family.norm_position == "post"]


def family(name: str) -> Family:
    return next(f for f in idinit_hf.FAMILIES if f.name == name)


def is_image(name: str) -> bool:
    return hasattr(family(name).example_config(), "image_size")


def tiny_config(name: str, **overrides):
    """The family's example config; text families get a 256-token vocabulary (the inputs are UTF-8 bytes)."""
    text = {} if is_image(name) else {"vocab_size": 256}
    return family(name).example_config(**{**text, **overrides})


def idinit_auto(name: str):
    """idinit_hf's Auto class of the family's pretraining head."""
    return getattr(idinit_hf, family(name).pretraining)


def stock_auto(name: str):
    """transformers' Auto class of the family's pretraining head."""
    return getattr(transformers, family(name).pretraining)


def tiny(name: str, *, dtype: torch.dtype | None = None, **overrides) -> torch.nn.Module:
    """The tiny model of ``name`` with its pretraining head, built by idinit_hf's Auto class."""
    return idinit_auto(name).from_config(tiny_config(name, **overrides), dtype=dtype)


def inputs(name: str, batch: int = 4, tokens: int = 32) -> dict[str, torch.Tensor]:
    """Real inputs for the tiny model: 8x8 digits, or UTF-8 bytes of reference text."""
    if is_image(name):
        return {"pixel_values": digits(batch)[0]}
    return {"input_ids": text_batch(batch, tokens)}


def idinit_class(name: str):
    """The IDInit class of the family's pretraining head for its first model type (``IDInitGPT2LMHeadModel``)."""
    stock = idinit_hf.models.stock_class_names(family(name).pretraining)[family(name).model_types[0]]
    return getattr(idinit_hf, f"IDInit{stock}")


def training_batches(name: str, batch: int = 8, tokens: int = 32, images: int = 64):
    """step → a batch of real training data for the family's pretraining task: next-token prediction on
    UTF-8 text, 15% masked text (token 1 as [MASK]), or ``images`` 8x8 digits taken ``batch`` at a time in turn."""
    task = family(name).pretraining
    if is_image(name):
        pixels, labels = digits(images)
        per_epoch = images // batch
        return lambda step: {"pixel_values": pixels[step % per_epoch * batch:][:batch],
                             "labels": labels[step % per_epoch * batch:][:batch]}
    generator = torch.Generator().manual_seed(0)

    def text(step: int) -> dict[str, torch.Tensor]:
        ids = text_batch(batch, tokens, offset=step % 100 * batch * tokens)
        if task == "AutoModelForCausalLM":
            return {"input_ids": ids, "labels": ids}
        masked = torch.rand(ids.shape, generator=generator) < 0.15
        return {"input_ids": torch.where(masked, torch.full_like(ids, 1), ids),
                "labels": torch.where(masked, ids, torch.full_like(ids, -100))}

    return text


TEXT = [name for name in NAMES if not is_image(name)]
