"""What the loop reads (idinit_hf/training/data/train_data.py): the plan of a run, and the in-memory data's
batches, position and resume on a real (one-process, CPU) ``Accelerator``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration
from datasets import Dataset

from idinit_hf.training.data.train_data import InMemoryData, StepPlan, plan_steps
from idinit_hf.training.errors import BadInputError


def test_step_plan():
    assert plan_steps(10, 1, None, 3) == StepPlan(10, 3, 30)
    assert plan_steps(10, 4, None, 2) == StepPlan(3, 2, 6)  # the partial accumulation at an epoch's end is a step
    assert plan_steps(10, 1, 25, 3) == StepPlan(10, 3, 25)  # max_train_steps wins


# ------------------------------------------------------------------------------------------ in-memory data
def run_args(**flags) -> argparse.Namespace:
    values = dict(per_device_train_batch_size=4, gradient_accumulation_steps=1, max_train_steps=None,
                  num_train_epochs=2, seed=0)
    return argparse.Namespace(**{**values, **flags})


def prepared(rows: int, **flags) -> tuple[InMemoryData, argparse.Namespace]:
    """In-memory data of ``rows`` numbered rows, prepared with a one-process CPU Accelerator."""
    args = run_args(**flags)
    data = InMemoryData(Dataset.from_dict({"x": list(range(rows))}))
    accelerator = Accelerator(cpu=True, dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True,
                                                                                  data_seed=args.seed))
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    data.prepare(accelerator, args, collate, model, optimizer, scheduler)
    return data, args


def collate(rows: list[dict]) -> dict:
    return {"x": torch.tensor([row["x"] for row in rows])}


@pytest.mark.parametrize("rows, batch, accumulation, processes", [(10, 4, 1, 1), (10, 4, 2, 1), (17, 3, 4, 1),
                                                                   (10, 4, 1, 2), (17, 3, 2, 3), (4, 8, 1, 2)])
def test_the_plan_counts_the_batches_of_the_loader(rows, batch, accumulation, processes):
    """ceil(rows / batch) batches, ceil(that / processes) per process (accelerate's even batches), then
    ceil(that / accumulation) steps; the one-process case against the loader prepare() really makes."""
    args = run_args(per_device_train_batch_size=batch, gradient_accumulation_steps=accumulation)
    data = InMemoryData(Dataset.from_dict({"x": list(range(rows))}))
    batches = math.ceil(math.ceil(rows / batch) / processes)
    assert data.plan(args, processes) == plan_steps(batches, accumulation, None, 2)
    if processes == 1:
        made, _ = prepared(rows, per_device_train_batch_size=batch)
        assert len(made.loader) == batches


def test_epochs_are_reshuffled_and_every_row_is_seen_once_per_epoch():
    data, args = prepared(10)
    heard, epochs = [], {}
    for epoch, batch in data.batches(data.plan(args, 1), heard.append):
        epochs.setdefault(epoch, []).extend(batch["x"].tolist())
    assert heard == [0, 1] and sorted(epochs) == [0, 1]
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(10)) and epochs[0] != epochs[1]


def test_the_position_rolls_over_at_the_end_of_an_epoch():
    data, args = prepared(10)
    batches = data.batches(data.plan(args, 1), None)
    next(batches)
    assert data.state() == {"epoch": 0, "batches_in_epoch": 1} and not data.at_epoch_end
    next(batches), next(batches)
    assert data.at_epoch_end and data.state() == {"epoch": 1, "batches_in_epoch": 0}


def test_a_resume_continues_with_the_batches_that_followed():
    data, args = prepared(10)
    order = [batch["x"].tolist() for _, batch in data.batches(data.plan(args, 1), None)]
    resumed, _ = prepared(10)
    resumed.load_state({"epoch": 0, "batches_in_epoch": 2}, Path("step_00000002"))
    assert [batch["x"].tolist() for _, batch in resumed.batches(data.plan(args, 1), None)] == order[2:]


def test_a_checkpoint_of_a_streamed_run_is_refused(tmp_path):
    data = InMemoryData(Dataset.from_dict({"x": [1, 2]}))
    with pytest.raises(BadInputError) as error:
        data.load_state({"epoch": 0, "batches_in_epoch": 0, "stream": [{}]}, tmp_path)
    assert str(error.value) == f"checkpoint {tmp_path} was saved by a --streaming run; resume it with --streaming"
