"""Tiny models of every family of the registry, and real data for them (like ``transformers.testing_utils``).

The tests, the benchmarks, ``scripts/check_gpu.py`` and the docs build their models and batches here, from what
each family says of itself (:class:`idinit_hf.families.Family`: objective, example config, ``scale``, ``fit``).
Nothing here names a family: one added to :data:`idinit_hf.FAMILIES` is built and fed by the same code.

    >>> from idinit_hf import testing
    >>> config = testing.tiny_config("llama", depth=4, width=64, init_method="idinit")
    >>> model = testing.auto_class("llama").from_config(config)
    >>> batch = testing.training_batches("llama")(0)        # {"input_ids", "labels"} of real text
    >>> loss = model(**batch).loss

Real data that every install has: CPython's ``pydoc_data.topics`` text (UTF-8 bytes as token ids) and
scikit-learn's 8x8 handwritten digits.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch

from .families import FAMILIES, Family
from .objectives import DataShape

__all__ = [
    "BYTE_VOCAB", "EXAMPLE_DEPTH", "EXAMPLE_WIDTH", "family", "names", "data_shape", "tiny_config", "auto_class",
    "tiny_model", "text_bytes", "text_windows", "digits", "inputs", "training_batches",
]

#: Token ids of byte-level text: every UTF-8 byte is one token.
BYTE_VOCAB = 256
#: The size every family's example config has (2 blocks of width 16): what ``tiny_config`` scales from.
EXAMPLE_DEPTH, EXAMPLE_WIDTH = 2, 16


def names() -> list[str]:
    """The names of the registry's families, in registry order."""
    return [f.name for f in FAMILIES]


def family(name: str | Family) -> Family:
    """The family called ``name`` (a :class:`Family` is returned as is); a ValueError names the known ones."""
    if isinstance(name, Family):
        return name
    for candidate in FAMILIES:
        if candidate.name == name:
            return candidate
    raise ValueError(f"unknown family {name!r}; known: {', '.join(names())}")


def data_shape(name: str | Family, *, length: int = 32, image_size: int = 8, channels: int = 1,
               classes: int = 10) -> DataShape:
    """The shape of the data a family trains on: byte-level text of ``length`` tokens (plus its objective's special
    tokens), or ``image_size`` images with ``channels`` and ``classes`` (default: the embedded digits)."""
    fam = family(name)
    if fam.modality == "text":
        return fam.objective.text_shape(BYTE_VOCAB, length)
    return DataShape(image_size=image_size, channels=channels, classes=classes)


def tiny_config(name: str | Family, depth: int | None = None, width: int | None = None, *,
                data: DataShape | None = None, dropout: float | None = None, model_type: str | None = None,
                **overrides: Any):
    """A small config of the family: its example, scaled to ``depth`` blocks of ``width`` when either is given
    (:attr:`Family.scale`), fitted to ``data`` (default: the embedded data, :func:`data_shape`), with every dropout
    probability set to ``dropout`` when given, and ``overrides`` (config keys, ``init_method``, ``idinit_*``) last."""
    fam = family(name)
    sizes = {} if depth is None and width is None else fam.scale(depth or EXAMPLE_DEPTH, width or EXAMPLE_WIDTH)
    fitted = fam.fit(data if data is not None else data_shape(fam))
    drops = {} if dropout is None else dict.fromkeys(fam.dropout, dropout)
    return fam.example_config(model_type, **{**sizes, **fitted, **drops, **overrides})


def auto_class(name: str | Family):
    """idinit_hf's Auto class of the family's pretraining head (IDInit when the config asks, stock otherwise)."""
    import idinit_hf

    return getattr(idinit_hf, family(name).pretraining)


def tiny_model(name: str | Family, *, dtype: torch.dtype | None = None, **config: Any) -> torch.nn.Module:
    """The family's pretraining model built from ``tiny_config(name, **config)`` by idinit_hf's Auto class."""
    return auto_class(name).from_config(tiny_config(name, **config), dtype=dtype)


# ---- real data every install has ---------------------------------------------------------------------------------
@cache
def _reference_text() -> torch.Tensor:
    from pydoc_data.topics import topics

    data = "\n".join(topics[key] for key in sorted(topics)).encode("utf-8")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


def text_bytes(n_tokens: int, offset: int = 0) -> torch.Tensor:
    """``n_tokens`` UTF-8 bytes of CPython's reference prose (``pydoc_data.topics``, 0.47 MB), as token ids."""
    return _reference_text()[offset : offset + n_tokens].clone()


def text_windows(batch: int, length: int, offset: int = 0) -> torch.Tensor:
    """``batch`` consecutive windows of ``length`` tokens of the reference text, from ``offset``."""
    return text_bytes(batch * length, offset).view(batch, length)


@cache
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32) / 8.0 - 1.0
    return images.unsqueeze(1), torch.tensor(data.target, dtype=torch.long)


def digits(n: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` of scikit-learn's 1,797 real 8x8 handwritten digits in [-1, 1], shape (n, 1, 8, 8), and their labels."""
    images, labels = _digits()
    return images[offset : offset + n].clone(), labels[offset : offset + n].clone()


def inputs(name: str | Family, batch: int = 4, tokens: int = 32) -> dict[str, torch.Tensor]:
    """Model inputs of real data, without labels: ``input_ids`` of reference text (an encoder-decoder's objective
    splits them between its encoder and its decoder), or ``pixel_values`` of digits."""
    fam = family(name)
    if fam.modality == "text":
        return fam.objective.inputs(text_windows(batch, tokens), shape=data_shape(fam, length=tokens))
    return {"pixel_values": digits(batch)[0]}


def training_batches(name: str | Family, batch: int = 8, tokens: int = 32, images: int = 64,
                     seed: int = 0) -> Callable[[int], dict[str, torch.Tensor]]:
    """step → a training batch of real data for the family's objective: consecutive windows of reference text (a
    causal LM's labels are its inputs; a masked LM's hide 15% of them, drawn from a generator seeded ``seed``),
    or ``images`` digits taken ``batch`` at a time in turn."""
    fam = family(name)
    shape = data_shape(fam, length=tokens)
    generator = torch.Generator().manual_seed(seed)
    if fam.modality == "text":
        return lambda step: fam.objective.batch(text_windows(batch, tokens, offset=step % 100 * batch * tokens),
                                                shape=shape, generator=generator)
    pixels, labels = digits(images)
    per_epoch = images // batch

    def image_batch(step: int) -> dict[str, torch.Tensor]:
        start = step % per_epoch * batch
        return fam.objective.batch((pixels[start : start + batch], labels[start : start + batch]), shape=shape)

    return image_batch
