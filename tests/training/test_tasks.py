"""The task table (idinit_hf/training/tasks.py): every row names things that exist, and says what the scripts
do differently."""

from __future__ import annotations

import pytest
import torch
import transformers
from transformers.models.auto import modeling_auto

import idinit_hf
from idinit_hf.training.metrics import ClassificationEvaluator, LanguageModelEvaluator
from idinit_hf.training.tasks import TASKS


@pytest.mark.parametrize("name", TASKS)
def test_each_row_names_an_auto_class_and_a_mapping_that_have_its_default_model(name):
    task = TASKS[name]
    assert task.name == name and task.script == f"scripts/pretrain_{name}.py"
    assert hasattr(idinit_hf, task.auto_class) and hasattr(transformers, task.auto_class)
    assert task.model_type in getattr(modeling_auto, task.head_mapping)


def test_the_three_scripts():
    assert list(TASKS) == ["clm", "mlm", "vit"]
    assert [(t.modality, t.masked, t.unit) for t in TASKS.values()] == [
        ("text", False, "tokens"), ("text", True, "tokens"), ("images", False, "images")]


def test_units_and_evaluators():
    tokens = {"input_ids": torch.zeros(4, 32, dtype=torch.long)}
    images = {"pixel_values": torch.zeros(5, 1, 8, 8)}
    assert TASKS["clm"].count_units(tokens) == TASKS["mlm"].count_units(tokens) == 128
    assert TASKS["vit"].count_units(images) == 5
    clm, mlm, vit = (TASKS[name].evaluator() for name in TASKS)
    assert isinstance(clm, LanguageModelEvaluator) and not clm.masked
    assert isinstance(mlm, LanguageModelEvaluator) and mlm.masked
    assert isinstance(vit, ClassificationEvaluator)
