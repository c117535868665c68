"""What the training loop reads: :class:`TrainData`, and its in-memory implementation :class:`InMemoryData`.

The loop (:mod:`idinit_hf.training.loop`) has one path for every kind of training data. It asks the data
how long the run is (:meth:`TrainData.plan`), lets it build its loader and join ``accelerator.prepare``
(:meth:`TrainData.prepare`), iterates its batches from the current position (:meth:`TrainData.batches`), and
records and restores that position in checkpoints (:meth:`TrainData.state`, :meth:`TrainData.load_state`).
Two implementations:

- :class:`InMemoryData`: a map-style ``Dataset`` (blocks or images), shuffled every epoch by a seeded sampler and
  sharded over the processes by accelerate; its position is the epoch and the batches done in it;
- :class:`~idinit_hf.training.data.stream.StreamedData` (``--streaming``): this process's own stream of
  blocks, in order, never prepared by accelerate; its position is every process's place in its stream.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import DataLoader

from ..errors import BadInputError


@dataclass(frozen=True)
class StepPlan:
    """How long the run is: optimizer steps per epoch, epochs, and the total number of optimizer steps."""

    steps_per_epoch: int
    num_epochs: int
    max_steps: int


def plan_steps(batches_per_epoch: int, accumulation: int, max_train_steps: int | None, num_epochs: int) -> StepPlan:
    """``--max_train_steps`` wins over ``--num_train_epochs``; a partial accumulation at the end of an epoch
    still makes a step (accelerate syncs at the end of the data loader)."""
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / accumulation))
    if max_train_steps is None:
        return StepPlan(steps_per_epoch, num_epochs, steps_per_epoch * num_epochs)
    return StepPlan(steps_per_epoch, math.ceil(max_train_steps / steps_per_epoch), max_train_steps)


def seeded_loader(dataset, batch_size: int, collate_fn: Callable, seed: int, shuffle: bool = False) -> DataLoader:
    """A ``DataLoader`` with its own generator: a torch DataLoader draws a base seed every time it is iterated,
    and from the global RNG that would shift dropout after a resume (which starts a new iterator mid-epoch)."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_fn,
                      generator=torch.Generator().manual_seed(seed))


class TrainData(Protocol):
    """The training data of a run, as the loop reads it (one process's view)."""

    def size(self) -> int | None:
        """Training examples per epoch over all processes, or None when there is no length (a stream)."""

    def check(self, state) -> None:
        """Raise :class:`BadInputError` unless every process has training data (``state``: accelerate's
        ``PartialState``). Called on every process: it may gather."""

    def plan(self, args: argparse.Namespace, num_processes: int) -> StepPlan:
        """The run's length from the flags: what the scheduler decays over and where the loop stops."""

    def prepare(self, accelerator, args: argparse.Namespace, collate_fn: Callable, model, optimizer, scheduler):
        """Build the loader and run ``accelerator.prepare`` on ``(model, optimizer, scheduler)``, together with
        the loader if accelerate is to shard it; returns the prepared ``(model, optimizer, scheduler)``."""

    def batches(self, plan: StepPlan, on_epoch: Callable[[int], None] | None) -> Iterator[tuple[int, dict]]:
        """``(epoch, batch on the device)`` from the current position on, until the plan's last epoch (a stream:
        without end). ``on_epoch(epoch)`` is called before the batches of an epoch are drawn."""

    @property
    def at_epoch_end(self) -> bool:
        """Whether the last batch drawn was the last of its epoch (``--checkpointing_steps epoch``)."""

    def state(self) -> dict[str, Any]:
        """The position, as ``run_state.json`` records it (called on every process: it may gather)."""

    def load_state(self, state: dict[str, Any], checkpoint: Path) -> None:
        """Continue from the position a checkpoint's ``run_state.json`` records (after :meth:`prepare`)."""


class InMemoryData:
    """A map-style ``Dataset`` read in epochs: shuffled by accelerate's seedable sampler (the order is a function
    of ``--seed`` and the epoch, identical on every rank and after a resume) and sharded over the processes.

    The position is the epoch and the batches done in it; a resume sets the sampler's epoch and skips those
    batches with ``accelerator.skip_first_batches``.
    """

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self.accelerator, self.loader = None, None
        self.epoch, self.batches_done = 0, 0

    def size(self) -> int:
        return len(self.dataset)

    def check(self, state) -> None:
        """Nothing to do: an empty split was refused when it was read or grouped."""

    def plan(self, args: argparse.Namespace, num_processes: int) -> StepPlan:
        """Steps of the loader :meth:`prepare` makes: ``ceil(rows / batch)`` batches, each process taking
        ``ceil(batches / processes)`` of them (accelerate's even batches)."""
        batches = math.ceil(len(self.dataset) / args.per_device_train_batch_size)
        return plan_steps(math.ceil(batches / num_processes), args.gradient_accumulation_steps,
                          args.max_train_steps, args.num_train_epochs)

    def prepare(self, accelerator, args: argparse.Namespace, collate_fn: Callable, model, optimizer, scheduler):
        loader = seeded_loader(self.dataset, args.per_device_train_batch_size, collate_fn, args.seed, shuffle=True)
        # one call with the loader: DeepSpeed reads the micro-batch size from it
        model, optimizer, self.loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
        self.accelerator = accelerator
        return model, optimizer, scheduler

    def batches(self, plan: StepPlan, on_epoch: Callable[[int], None] | None) -> Iterator[tuple[int, dict]]:
        skip = self.batches_done
        for epoch in range(self.epoch, plan.num_epochs):
            self.loader.set_epoch(epoch)
            if on_epoch is not None:
                on_epoch(epoch)
            self.epoch, self.batches_done = epoch, skip
            loader = self.accelerator.skip_first_batches(self.loader, skip) if skip else self.loader
            for batch in loader:
                self.batches_done += 1
                yield epoch, batch
            skip = 0

    @property
    def at_epoch_end(self) -> bool:
        return self.batches_done >= len(self.loader)

    def state(self) -> dict[str, int]:
        """``{"epoch", "batches_in_epoch"}``; at the end of an epoch, the start of the next one."""
        if self.at_epoch_end:
            return {"epoch": self.epoch + 1, "batches_in_epoch": 0}
        return {"epoch": self.epoch, "batches_in_epoch": self.batches_done}

    def load_state(self, state: dict[str, Any], checkpoint: Path) -> None:
        if state.get("stream") is not None:
            raise BadInputError(f"checkpoint {checkpoint} was saved by a --streaming run; resume it with --streaming")
        self.epoch, self.batches_done = state["epoch"], state["batches_in_epoch"]
