"""The three pretraining tasks, as data: one row per script, read by everything that differs between them.

The flags (:mod:`.args`: defaults, text or image data flags, ``--mlm_probability``), the model
(:mod:`.modeling`: the Auto class, the transformers mapping of the model types that have the head), the
tokenizer (:mod:`.tokenization`: BPE or WordPiece), the loop (what the throughput counts), the evaluator, the
model card and ``scripts/docs_tables.py`` all look a task up here; none of them names a task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from .metrics import ClassificationEvaluator, LanguageModelEvaluator


def count_tokens(batch: dict) -> int:
    """Tokens in a batch of language-model blocks (padding included: blocks are packed, there is none)."""
    return batch["input_ids"].numel()


def count_images(batch: dict) -> int:
    """Images in a batch."""
    return batch["pixel_values"].shape[0]


@dataclass(frozen=True)
class Task:
    """What one pretraining script trains, and every fact that differs from the other scripts."""

    name: str  # the script's short name, recorded in every checkpoint ("clm"): a checkpoint resumes in its own
    title: str  # for the model card
    script: str  # the script, named in the model card
    auto_class: str  # the idinit_hf / transformers Auto class that builds the model
    head_mapping: str  # transformers.models.auto.modeling_auto: the model types that have this head
    modality: str  # "text" or "images": which data flags and which data pipeline
    masked: bool  # masked LM: a WordPiece tokenizer with [MASK], the masking collator, --mlm_probability
    model_type: str  # default --model_type
    learning_rate: float  # default --learning_rate
    unit: str  # what the throughput counts: "tokens" or "images"
    count_units: Callable[[dict], int]  # the units of one batch
    evaluator: Callable[[], Any]  # a new evaluator (metrics.LanguageModelEvaluator / ClassificationEvaluator)

    @property
    def text(self) -> bool:
        """Whether the task reads text (and so has a tokenizer, blocks and ``--streaming``)."""
        return self.modality == "text"


CLM = Task(name="clm", title="causal language modeling", script="scripts/pretrain_clm.py",
           auto_class="AutoModelForCausalLM", head_mapping="MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", modality="text",
           masked=False, model_type="gpt2", learning_rate=5e-4, unit="tokens", count_units=count_tokens,
           evaluator=partial(LanguageModelEvaluator, masked=False))
MLM = Task(name="mlm", title="masked language modeling", script="scripts/pretrain_mlm.py",
           auto_class="AutoModelForMaskedLM", head_mapping="MODEL_FOR_MASKED_LM_MAPPING_NAMES", modality="text",
           masked=True, model_type="bert", learning_rate=5e-4, unit="tokens", count_units=count_tokens,
           evaluator=partial(LanguageModelEvaluator, masked=True))
IMAGE_CLASSIFICATION = Task(name="vit", title="image classification", script="scripts/pretrain_vit.py",
                            auto_class="AutoModelForImageClassification",
                            head_mapping="MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES", modality="images",
                            masked=False, model_type="vit", learning_rate=1e-3, unit="images",
                            count_units=count_images, evaluator=ClassificationEvaluator)

#: Every task by its name, in the order of the docs' tables.
TASKS: dict[str, Task] = {task.name: task for task in (CLM, MLM, IMAGE_CLASSIFICATION)}
