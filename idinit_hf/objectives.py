"""The pretraining objectives of the registry's families: what real data a model needs, how a batch is made of
it, and which predictions an accuracy compares.

A family's objective follows from its pretraining head (``Family.pretraining``): a causal LM predicts the next
token, a masked LM the tokens hidden behind a [MASK] id, an image classifier the class of an image, an
encoder-decoder the second half of a window of text from its first half. Tests,
benchmarks and ``scripts/check_gpu.py`` make their batches here, so whether a family is text or images, causal or
masked, is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DataShape", "Objective", "CAUSAL_LM", "MASKED_LM", "IMAGE_CLASSIFICATION", "SEQ2SEQ_LM", "OBJECTIVES",
           "objective_of"]

IGNORE = -100  # the label transformers' losses skip


@dataclass(frozen=True)
class DataShape:
    """What real data fixes in a model's config.

    Text: the number of token ids the model embeds (the data's own, plus the objective's special tokens) and the
    tokens per example; images: side, channels and classes.
    """

    vocab_size: int = 0
    length: int = 0
    pad_id: int | None = None  # a token id no text holds (None: the objective needs none)
    mask_id: int | None = None
    image_size: int = 0
    channels: int = 0
    classes: int = 0


@dataclass(frozen=True)
class Objective:
    """A pretraining objective: its name, modality and head (an Auto class of transformers / idinit_hf)."""

    name: str
    modality: str  # "text" or "image"
    head: str

    def text_shape(self, data_vocab: int, length: int) -> DataShape:
        """The shape of text data of ``data_vocab`` token ids, ``length`` tokens per example."""
        return DataShape(vocab_size=data_vocab, length=length)

    def batch(self, data, *, shape: DataShape, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """A training batch from raw data: token windows ``(batch, length)``, or ``(pixels, labels)``."""
        raise NotImplementedError

    def inputs(self, data: torch.Tensor, *, shape: DataShape) -> dict[str, torch.Tensor]:
        """What a model of this objective reads of token windows ``(batch, length)``, unmasked and without labels
        (what ``identity_report`` runs)."""
        return {"input_ids": data}

    def predictions(self, logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted, target) ids of every position a loss scores (``-100`` targets are skipped by callers)."""
        return logits.argmax(-1), labels

    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The targets a batch's loss scores, flattened, ``-100`` removed."""
        labels = batch["labels"].reshape(-1)
        return labels[labels != IGNORE]


class _CausalLM(Objective):
    """Next-token prediction: the labels are the inputs (transformers shifts them inside the loss)."""

    def batch(self, data, *, shape, generator=None):
        return {"input_ids": data, "labels": data}

    def predictions(self, logits, labels):
        return logits[:, :-1].argmax(-1), labels[:, 1:]  # position t predicts token t + 1

    def targets(self, batch):
        return batch["labels"][:, 1:].reshape(-1)


class _MaskedLM(Objective):
    """BERT's masked tokens: 15% of the positions are hidden behind the [MASK] id and predicted; the rest are not
    scored. [MASK] and [PAD] are the two ids after the data's own (no text holds them)."""

    probability = 0.15

    def text_shape(self, data_vocab, length):
        return DataShape(vocab_size=data_vocab + 2, length=length, mask_id=data_vocab, pad_id=data_vocab + 1)

    def batch(self, data, *, shape, generator=None):
        masked = torch.rand(data.shape, generator=generator) < self.probability
        return {"input_ids": torch.where(masked, shape.mask_id, data), "labels": torch.where(masked, data, IGNORE)}


class _Seq2SeqLM(Objective):
    """An encoder-decoder's next window: the encoder reads the first half of a window of text, the decoder predicts
    the second half token by token (its input is the labels shifted right behind a start token). One id after the
    data's own is both [PAD] and the decoder's start token (no text holds it). Neither span corruption nor
    denoising: the plainest objective that trains both stacks and the cross-attention on real text."""

    def text_shape(self, data_vocab, length):
        return DataShape(vocab_size=data_vocab + 1, length=length, pad_id=data_vocab)

    @staticmethod
    def _halves(data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = data.shape[1] // 2
        return data[:, :half].contiguous(), data[:, half:].contiguous()

    def batch(self, data, *, shape, generator=None):
        return {**self.inputs(data, shape=shape), "labels": self._halves(data)[1]}

    def inputs(self, data, *, shape):
        """The first half for the encoder; for the decoder, the second half shifted right behind the start token
        (what the models' own ``shift_tokens_right`` makes of the labels, spelled out so that every model type
        reads the same batch)."""
        source, target = self._halves(data)
        start = torch.full_like(target[:, :1], shape.pad_id)
        return {"input_ids": source, "decoder_input_ids": torch.cat([start, target[:, :-1]], dim=1)}


class _ImageClassification(Objective):
    def batch(self, data, *, shape, generator=None):
        pixels, labels = data
        return {"pixel_values": pixels, "labels": labels}


CAUSAL_LM = _CausalLM("causal-lm", "text", "AutoModelForCausalLM")
MASKED_LM = _MaskedLM("masked-lm", "text", "AutoModelForMaskedLM")
IMAGE_CLASSIFICATION = _ImageClassification("image-classification", "image", "AutoModelForImageClassification")
SEQ2SEQ_LM = _Seq2SeqLM("seq2seq-lm", "text", "AutoModelForSeq2SeqLM")
#: Pretraining head → objective.
OBJECTIVES: dict[str, Objective] = {o.head: o for o in (CAUSAL_LM, MASKED_LM, IMAGE_CLASSIFICATION, SEQ2SEQ_LM)}


def objective_of(head: str) -> Objective:
    """The objective of a pretraining head; a ValueError names the heads there are objectives for."""
    try:
        return OBJECTIVES[head]
    except KeyError:
        raise ValueError(f"no pretraining objective for the head {head!r}; known: {sorted(OBJECTIVES)}") from None
