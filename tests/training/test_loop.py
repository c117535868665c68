"""The training loop (idinit_hf/training/loop.py): optimizer groups, the scheduler's horizon, and the one loop
path, run in this process on a tiny model with data that records what the loop asks of it (the
:class:`~idinit_hf.training.data.train_data.TrainData` interface and nothing else)."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import pytest
import torch

from idinit_hf.training.args import build_parser
from idinit_hf.training.data.train_data import StepPlan
from idinit_hf.training.loop import (
    TrainingJob,
    make_accelerator,
    make_scheduler,
    parameter_groups,
    read_log,
    train,
)
from idinit_hf.training.tasks import TASKS


def test_weight_decay_only_on_matrices():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    decay, no_decay = parameter_groups(model, 0.1)
    assert [p.ndim for p in decay["params"]] == [2] and decay["weight_decay"] == 0.1
    assert sorted(p.ndim for p in no_decay["params"]) == [1, 1, 1] and no_decay["weight_decay"] == 0.0


@pytest.mark.parametrize("processes", [1, 4])
def test_the_scheduler_decays_over_the_plan(processes):
    """Warm-up then linear decay to 0 at the plan's last step; accelerate steps a prepared scheduler once per
    process, so warm-up and horizon are counted in those units."""
    args = argparse.Namespace(lr_scheduler_type="linear", num_warmup_steps=2)
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=1.0)
    scheduler = make_scheduler(optimizer, args, processes, StepPlan(5, 2, 10))
    rates = []
    for _ in range(10):
        for _ in range(processes):
            optimizer.step()
            scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    assert rates[:3] == pytest.approx([0.5, 1.0, 7 / 8]) and rates[-1] == pytest.approx(0.0)


class Regression(torch.nn.Module):
    """A model as the loop sees one: ``model(**batch).loss``."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, input_ids, labels):
        return SimpleNamespace(loss=torch.nn.functional.mse_loss(self.linear(input_ids).squeeze(-1), labels))


class RecordedData:
    """A TrainData of fixed batches in epochs of ``per_epoch``, that records what the loop asked of it."""

    def __init__(self, epochs: int, per_epoch: int):
        self.num_epochs, self.per_epoch = epochs, per_epoch
        self.drawn, self.epochs_heard, self.position = 0, [], (0, 0)

    def size(self):
        return self.num_epochs * self.per_epoch

    def check(self, state):
        pass

    def plan(self, args, num_processes):
        return StepPlan(self.per_epoch, self.num_epochs, args.max_train_steps or self.num_epochs * self.per_epoch)

    def prepare(self, accelerator, args, collate_fn, model, optimizer, scheduler):
        return accelerator.prepare(model, optimizer, scheduler)

    def batches(self, plan, on_epoch):
        for epoch in range(plan.num_epochs):
            on_epoch(epoch)
            for index in range(self.per_epoch):
                self.drawn += 1
                self.position = (epoch, index + 1)
                yield epoch, {"input_ids": torch.ones(4, 2) * index, "labels": torch.ones(4)}

    @property
    def at_epoch_end(self):
        return self.position[1] == self.per_epoch

    def state(self):
        return {"epoch": self.position[0], "batches_in_epoch": self.position[1]}

    def load_state(self, state, checkpoint):
        raise AssertionError("not resumed here")


def run(tmp_path, data: RecordedData, *flags: str):
    args = build_parser("clm", "").parse_args(["--output_dir", str(tmp_path), "--learning_rate", "0.1", *flags])
    args.task = "clm"
    accelerator = make_accelerator(args, "no")
    job = TrainingJob(args=args, accelerator=accelerator, model=Regression(), task=TASKS["clm"], train_data=data,
                      eval_dataset=None, collate_fn=None, evaluator=None, on_epoch=data.epochs_heard.append)
    return train(job)


def test_the_loop_trains_every_batch_of_the_plan_and_checkpoints_each_epoch(tmp_path):
    data = RecordedData(epochs=2, per_epoch=3)
    result = run(tmp_path, data, "--checkpointing_steps", "epoch")
    assert result.completed_steps == 6 and data.drawn == 6 and data.epochs_heard == [0, 1]
    assert [(r["step"], r["epoch"]) for r in read_log(tmp_path / "log.jsonl")] == [(1, 0), (2, 0), (3, 0),
                                                                                    (4, 1), (5, 1), (6, 1)]
    states = [json.loads((tmp_path / "checkpoints" / name / "run_state.json").read_text())
              for name in ("step_00000003", "step_00000006")]
    assert [(s["task"], s["completed_steps"], s["epoch"], s["batches_in_epoch"]) for s in states] == [
        ("clm", 3, 0, 3), ("clm", 6, 1, 3)]


def test_the_loop_stops_at_max_train_steps_without_drawing_another_batch(tmp_path):
    data = RecordedData(epochs=3, per_epoch=3)
    result = run(tmp_path, data, "--max_train_steps", "4", "--gradient_accumulation_steps", "1",
                 "--checkpointing_steps", "2")
    assert result.completed_steps == 4 and data.drawn == 4 and data.epochs_heard == [0, 1]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000002", "step_00000004"]
    assert result.units_per_second > 0 and result.speed["tokens_per_second"] > 0
