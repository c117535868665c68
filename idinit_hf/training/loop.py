"""The training loop on ``accelerate.Accelerator``, shared by the three scripts.

One optimizer step = ``--gradient_accumulation_steps`` micro-batches on every rank. Steps, evaluation, logging
and checkpoints all count optimizer steps, as in the HF ``*_no_trainer`` scripts. A checkpoint records the epoch
and the number of batches done in it; resuming sets the epoch of the seeded sampler (so the epoch's order is the
same) and skips those batches with ``accelerator.skip_first_batches``. On CPU the resumed run's losses equal the
uninterrupted run's exactly (``tests/test_scripts_clm.py``), and after a SIGKILL the final weights are
bit-identical (``tests/test_faults.py``).

With ``--streaming`` the training data is a :class:`~idinit_hf.training.data.PackedTextStream`: each process
iterates its own shard (not prepared by accelerate, which would read the whole stream on every rank); the run is
``--max_train_steps`` long, and a checkpoint records every rank's stream position, from which a resume continues.

Every training log line carries the throughput, in total and per process, and the model FLOPs utilisation
(:mod:`.throughput`).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .checkpoints import latest_checkpoint, read_run_state, save_checkpoint
from .errors import BadInputError, TrainingStopped, error_summary
from .throughput import device_peak_tflops, format_mfu, speed_summary

LOG_FILE = "log.jsonl"


# ------------------------------------------------------------------------------------------------ accelerator
def accelerator_available() -> bool:
    """Whether torch sees a GPU or other accelerator (else every process must run in CPU mode)."""
    if hasattr(torch, "accelerator"):
        return torch.accelerator.is_available()
    return torch.cuda.is_available()


def use_cpu(args: argparse.Namespace) -> bool:
    """CPU mode when asked, or when there is no accelerator.

    ``accelerate launch --multi_gpu --num_processes N`` on a CPU-only machine then runs N synchronized gloo
    processes; without CPU mode they would run unsynchronized (docs/scripts.md, configs/accelerate/).
    """
    return args.cpu or not accelerator_available()


def make_accelerator(args: argparse.Namespace, precision: str):
    """The ``Accelerator`` of the run: resolved precision, accumulation, trackers, a seeded data order, and
    with ``--torch_compile`` the inductor backend (``accelerator.prepare`` compiles the model, once)."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration

    return Accelerator(
        cpu=use_cpu(args),
        mixed_precision=precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        log_with=args.report_to if args.with_tracking else None,
        project_config=ProjectConfiguration(project_dir=args.output_dir, logging_dir=str(Path(args.output_dir) / "runs")),
        # the sampler's order is a function of (seed, epoch): identical on every rank and after a resume
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=args.seed),
        dynamo_backend="inductor" if getattr(args, "torch_compile", False) else None,
    )


# ------------------------------------------------------------------------------------------------- optimizer
def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weights with 2 or more dimensions only: biases, norms' gains and (1-D) scales are not
    decayed, matrices and embeddings are (a tied embedding counts once)."""
    decay, no_decay = [], []
    for parameter in model.parameters():  # parameters() yields tied tensors once
        if parameter.requires_grad:
            (decay if parameter.ndim >= 2 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, args: argparse.Namespace) -> torch.optim.Optimizer:
    return torch.optim.AdamW(parameter_groups(model, args.weight_decay), lr=args.learning_rate)


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


# ----------------------------------------------------------------------------------------------------- logging
class RunLog:
    """One JSON line per record in ``<output_dir>/log.jsonl`` (always), and the trackers (``--with_tracking``)."""

    def __init__(self, accelerator, output_dir: str, with_tracking: bool, keep_until_step: int | None = None):
        self.accelerator = accelerator
        self.path = Path(output_dir) / LOG_FILE
        self.with_tracking = with_tracking
        self.records: list[dict[str, Any]] = []
        if accelerator.is_main_process:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept = []
            if keep_until_step is not None and self.path.is_file():  # resuming: drop what came after the checkpoint
                kept = [r for r in read_log(self.path) if r.get("step", 0) <= keep_until_step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))
            self.records = kept

    def write(self, record: dict[str, Any]) -> None:
        if self.with_tracking:
            numbers = {k: v for k, v in record.items() if isinstance(v, (int, float)) and k != "step"}
            self.accelerator.log(numbers, step=record["step"])
        if self.accelerator.is_main_process:
            self.records.append(record)
            with self.path.open("a") as file:
                file.write(json.dumps(record) + "\n")


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``log.jsonl``."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------ evaluation
def evaluate(accelerator, model, dataloader, evaluator) -> dict[str, float]:
    """Run ``evaluator`` over the whole (sharded) validation set; metrics gathered from every rank."""
    model.eval()
    with torch.no_grad():
        for batch in dataloader:
            evaluator.add(accelerator.gather_for_metrics(evaluator.forward(model, batch)))
    model.train()
    return evaluator.compute()


# ------------------------------------------------------------------------------------------------------ train
@dataclass
class TrainingJob:
    """Everything the loop needs; the scripts fill it in."""

    args: argparse.Namespace
    accelerator: Any
    model: torch.nn.Module
    train_dataset: Any
    eval_dataset: Any | None
    collate_fn: Callable
    evaluator: Any
    unit: str  # "tokens" or "images": what the throughput counts
    count_units: Callable[[dict], int]
    savers: tuple = ()  # tokenizer / image processor, saved into each checkpoint
    config_dict: dict = field(default_factory=dict)  # the model config, recorded in checkpoints
    resume_from: Path | None = None
    on_epoch: Callable[[int], None] | None = None  # e.g. tell the MLM collator the epoch
    flops_per_unit: float = 0.0  # model training FLOPs per token / image (throughput.flops_per_token); 0: unknown

    @property
    def streaming(self) -> bool:
        """Whether the training data is a stream (``--streaming``) rather than a map-style dataset."""
        return isinstance(self.train_dataset, torch.utils.data.IterableDataset)


@dataclass
class TrainingResult:
    model: torch.nn.Module  # the trained model as accelerate prepared it (accelerator.unwrap_model to save it)
    metrics: dict[str, float]
    completed_steps: int
    train_seconds: float
    units_per_second: float
    history: list[dict[str, Any]]
    speed: dict[str, Any] = field(default_factory=dict)  # throughput per process and in total, FLOPs, MFU


def make_loaders(job: TrainingJob):
    """The training and validation loaders (not yet prepared).

    Each loader gets its own generator: a torch DataLoader draws a base seed every time it is iterated, and
    from the global RNG that would shift dropout after a resume (which starts a new iterator mid-epoch).
    """
    from torch.utils.data import DataLoader

    args = job.args
    if job.streaming:  # already this rank's shard, in stream order: no sampler, no shuffling
        train_loader = DataLoader(job.train_dataset, batch_size=args.per_device_train_batch_size,
                                  collate_fn=job.collate_fn, generator=torch.Generator().manual_seed(args.seed))
    else:
        train_loader = DataLoader(job.train_dataset, batch_size=args.per_device_train_batch_size, shuffle=True,
                                  collate_fn=job.collate_fn, generator=torch.Generator().manual_seed(args.seed))
    eval_loader = None
    if job.eval_dataset is not None:
        eval_loader = DataLoader(job.eval_dataset, batch_size=args.per_device_eval_batch_size,
                                 collate_fn=job.collate_fn, generator=torch.Generator().manual_seed(args.seed))
    return train_loader, eval_loader


def make_scheduler(optimizer, args: argparse.Namespace, num_processes: int, batches: int):
    """Warm-up + decay over the run's optimizer steps (``batches``: the training loader's length, unsharded).

    The scheduler is stepped once per optimizer step on each process; accelerate's prepared scheduler steps
    num_processes times per call, so its horizon is counted in those units (as in the HF scripts).
    """
    from transformers import get_scheduler

    plan = plan_steps(math.ceil(batches / num_processes), args.gradient_accumulation_steps, args.max_train_steps,
                      args.num_train_epochs)
    return get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=args.num_warmup_steps * num_processes,
                         num_training_steps=plan.max_steps * num_processes)


def resume_position(accelerator, checkpoint: Path, stream=None) -> tuple[int, int, int]:
    """Load a checkpoint's state into the prepared objects; return (completed steps, epoch, batches into it).

    ``stream``: the training stream of a ``--streaming`` run, set to this rank's recorded position."""
    try:  # everything but the safetensors weights is read with torch.load(weights_only=True): no code runs
        accelerator.load_state(str(checkpoint))
    except Exception as error:  # a file that is not what it claims to be
        raise BadInputError(f"checkpoint {checkpoint} could not be loaded ({error_summary(error)})") from None
    state = read_run_state(checkpoint)
    if stream is not None:
        set_stream_position(stream, state, checkpoint, accelerator.process_index, accelerator.num_processes)
    elif state.get("stream") is not None:
        raise BadInputError(f"checkpoint {checkpoint} was saved by a --streaming run; resume it with --streaming")
    position = state["completed_steps"], state["epoch"], state["batches_in_epoch"]
    accelerator.print(f"resumed from {checkpoint}: step {position[0]}, epoch {position[1]}, {position[2]} batches into it")
    return position


def set_stream_position(stream, state: dict[str, Any], checkpoint: Path, rank: int, num_processes: int) -> None:
    """Put this rank's stream where the checkpoint says it was (``run_state.json``'s ``stream``, one per rank)."""
    positions = state.get("stream")
    if positions is None:
        raise BadInputError(f"checkpoint {checkpoint} was saved without --streaming; resume it without --streaming")
    if len(positions) != num_processes:
        raise BadInputError(f"checkpoint {checkpoint} was saved by {len(positions)} streaming process(es); resume "
                            f"it with the same number, not {num_processes} (each process owns its shard)")
    stream.load_state(positions[rank])


class TrainingRun:
    """One run of the loop: the prepared objects, the counters, and one method per thing the loop does."""

    def __init__(self, job: TrainingJob) -> None:
        args, accelerator = job.args, job.accelerator
        self.job, self.args, self.accelerator = job, args, accelerator
        train_loader, eval_loader = make_loaders(job)
        optimizer = make_optimizer(job.model, args)
        if job.streaming:  # one rank's shard: not prepared (accelerate would make every rank read everything)
            scheduler = make_scheduler(optimizer, args, accelerator.num_processes, accelerator.num_processes)
            self.model, self.optimizer, self.scheduler = accelerator.prepare(job.model, optimizer, scheduler)
            self.train_loader = train_loader
            self.plan = StepPlan(args.max_train_steps, 1, args.max_train_steps)
        else:
            scheduler = make_scheduler(optimizer, args, accelerator.num_processes, len(train_loader))
            self.model, self.optimizer, self.train_loader, self.scheduler = accelerator.prepare(
                job.model, optimizer, train_loader, scheduler)
            self.plan = plan_steps(len(self.train_loader), args.gradient_accumulation_steps, args.max_train_steps,
                                   args.num_train_epochs)
        self.eval_loader = accelerator.prepare(eval_loader) if eval_loader is not None else None
        self.completed, self.start_epoch, self.skip = 0, 0, 0
        if job.resume_from is not None:
            self.completed, self.start_epoch, self.skip = resume_position(
                accelerator, job.resume_from, job.train_dataset if job.streaming else None)
        if args.with_tracking:
            accelerator.init_trackers("pretrain", tracker_config(args))
        self.log = RunLog(accelerator, args.output_dir, args.with_tracking,
                          keep_until_step=self.completed if job.resume_from is not None else None)
        self.metrics: dict[str, float] = {}
        self.train_seconds, self.units_done = 0.0, 0
        self.peak_tflops = getattr(args, "peak_tflops", None) or device_peak_tflops(accelerator.device)
        self._reset_step()

    # -- one optimizer step
    def _reset_step(self) -> None:
        self.step_loss = torch.zeros((), device=self.accelerator.device)
        self.step_micro, self.step_units = 0, 0
        self.step_start = time.perf_counter()

    def micro_step(self, batch: dict) -> None:
        """Forward, backward and (when accumulation is complete) the clipped optimizer step of one batch."""
        accelerator, args = self.accelerator, self.args
        with accelerator.accumulate(self.model):
            loss = self.model(**batch).loss
            accelerator.backward(loss)
            if accelerator.sync_gradients and args.max_grad_norm > 0:
                accelerator.clip_grad_norm_(self.model.parameters(), args.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad()
        self.step_loss += loss.detach().float()
        self.step_micro += 1
        self.step_units += self.job.count_units(batch)

    def finish_step(self, progress) -> float:
        """Count a completed optimizer step; stop the run on a non-finite loss; return the mean loss.

        The mean is all-reduced, on every rank at every step, so a NaN/inf stops the run before it can be
        checkpointed and all ranks stop together.
        """
        self.completed += 1
        self.train_seconds += time.perf_counter() - self.step_start
        self.units_done += self.step_units * self.accelerator.num_processes
        mean_loss = self.accelerator.reduce(self.step_loss / self.step_micro, reduction="mean").item()
        if not math.isfinite(mean_loss):
            progress.close()
            self.log.write({"kind": "stopped", "step": self.completed, "loss": str(mean_loss)})
            raise TrainingStopped(non_finite_message(self.completed, mean_loss, self.args.output_dir,
                                                     self.job.resume_from))
        return mean_loss

    def log_step(self, mean_loss: float, epoch: int, progress) -> None:
        if self.completed % self.args.logging_steps and self.completed != self.plan.max_steps:
            return
        rate, unit, speed = self.units_per_second(), self.job.unit, self.speed()
        lr = self.scheduler.get_last_lr()[0]
        self.log.write({"kind": "train", "step": self.completed, "epoch": epoch, "loss": mean_loss, "lr": lr,
                        f"{unit}_per_second": rate,
                        f"{unit}_per_second_per_process": speed[f"{unit}_per_second_per_process"],
                        "mfu": speed["mfu"]})
        progress.set_postfix({"loss": f"{mean_loss:.4f}", "lr": f"{lr:.2e}", f"{unit}/s": _rate(rate),
                              "mfu": format_mfu(speed["mfu"])})

    def units_per_second(self) -> float:
        """Tokens (images) per second over every process, training time only."""
        return self.units_done / self.train_seconds if self.train_seconds > 0 else 0.0

    def speed(self) -> dict[str, Any]:
        """Throughput in total and per process, model FLOPs per unit, the device peak and the MFU."""
        return speed_summary(self.job.unit, self.units_per_second(), self.accelerator.num_processes,
                             self.job.flops_per_unit, self.peak_tflops)

    # -- evaluation and checkpoints
    def evaluate(self) -> dict[str, float]:
        if self.eval_loader is None:
            return {}
        metrics = evaluate(self.accelerator, self.model, self.eval_loader, self.job.evaluator)
        self.log.write({"kind": "eval", "step": self.completed, **metrics})
        return metrics

    def data_position(self, epoch: int, batches_in_epoch: int) -> dict[str, Any]:
        """Where the training data stands, for ``run_state.json`` (called on every rank: it may gather).

        Map-style data: the epoch and the batches done in it. A stream: every rank's position (pass, documents
        read before the current chunk, blocks taken from it), in rank order."""
        if self.job.streaming:
            from accelerate.utils import gather_object

            mine = self.job.train_dataset.state()
            positions = gather_object([mine]) if self.accelerator.num_processes > 1 else [mine]
            return {"epoch": mine["epoch"], "batches_in_epoch": 0, "stream": positions}
        if batches_in_epoch >= len(self.train_loader):  # at the end of an epoch: resume at the next one
            epoch, batches_in_epoch = epoch + 1, 0
        return {"epoch": epoch, "batches_in_epoch": batches_in_epoch}

    def checkpoint(self, epoch: int, batches_in_epoch: int) -> None:
        run_state = {"task": self.args.task, "completed_steps": self.completed,
                     **self.data_position(epoch, batches_in_epoch), "config": self.job.config_dict}
        path = save_checkpoint(self.accelerator, self.args.output_dir, self.completed, run_state, self.job.savers,
                               self.args.checkpoints_total_limit)
        self.accelerator.print(f"saved checkpoint {path}")

    def after_step(self, epoch: int, batches_in_epoch: int) -> None:
        """Evaluate and checkpoint when their step counts say so."""
        args = self.args
        if args.eval_steps and self.completed % args.eval_steps == 0 and self.completed < self.plan.max_steps:
            self.metrics = self.evaluate()
            self.accelerator.print(f"step {self.completed}: " + ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items()))
        if isinstance(args.checkpointing_steps, int) and self.completed % args.checkpointing_steps == 0:
            self.checkpoint(epoch, batches_in_epoch)

    # -- epochs
    def run_epoch(self, epoch: int, progress) -> None:
        """One pass over the (sharded) training data, from where a resume left off in the first epoch."""
        self.train_loader.set_epoch(epoch)
        if self.job.on_epoch is not None:
            self.job.on_epoch(epoch)
        batches_in_epoch = self.skip if epoch == self.start_epoch else 0
        loader = (self.accelerator.skip_first_batches(self.train_loader, batches_in_epoch) if batches_in_epoch
                  else self.train_loader)
        for batch in loader:
            batches_in_epoch += 1
            if self.train_on(batch, epoch, batches_in_epoch, progress):
                break
        if self.args.checkpointing_steps == "epoch" and batches_in_epoch >= len(self.train_loader):
            self.checkpoint(epoch, batches_in_epoch)
            self.step_start = time.perf_counter()

    def run_stream(self, progress) -> None:
        """``--streaming``: this rank's stream, from where a resume left off, until ``--max_train_steps``. The
        stream starts a new pass over its shard when one ends; ``epoch`` in the log is that pass."""
        stream, device = self.job.train_dataset, self.accelerator.device
        batches = iter(self.train_loader)
        while self.completed < self.plan.max_steps:
            pass_number = stream.state()["epoch"]
            if self.job.on_epoch is not None:
                self.job.on_epoch(pass_number)
            batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
            self.train_on(batch, pass_number, 0, progress)

    def train_on(self, batch: dict, epoch: int, batches_in_epoch: int, progress) -> bool:
        """One micro-batch; when it completes an optimizer step, count, log, evaluate and checkpoint it.
        Returns whether the run has reached its last step."""
        self.micro_step(batch)
        if not self.accelerator.sync_gradients:
            return False
        mean_loss = self.finish_step(progress)
        self.log_step(mean_loss, epoch, progress)
        progress.update(1)
        self.after_step(epoch, batches_in_epoch)
        self._reset_step()
        return self.completed >= self.plan.max_steps

    def run(self) -> TrainingResult:
        from tqdm.auto import tqdm

        progress = tqdm(total=self.plan.max_steps, initial=self.completed, desc="training", dynamic_ncols=True,
                        disable=not self.accelerator.is_local_main_process)
        self.model.train()
        if self.job.streaming:
            self.run_stream(progress)
        for epoch in range(self.start_epoch, self.plan.num_epochs):
            if self.completed >= self.plan.max_steps:
                break
            self.run_epoch(epoch, progress)
        progress.close()
        self.metrics = self.evaluate()
        if self.metrics:
            self.accelerator.print("final: " + ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items()))
        return TrainingResult(self.model, self.metrics, self.completed, self.train_seconds, self.units_per_second(),
                              list(self.log.records), self.speed())


def train(job: TrainingJob) -> TrainingResult:
    """Train, evaluating every ``--eval_steps`` and at the end, checkpointing every ``--checkpointing_steps``;
    the result holds the trained model."""
    return TrainingRun(job).run()


def non_finite_message(step: int, loss: float, output_dir: str, resumed_from: Path | None) -> str:
    """What to say when the loss of optimizer step ``step`` is NaN or inf: the step, and where to resume."""
    last = latest_checkpoint(output_dir) or resumed_from
    where = (f"the last complete checkpoint is {last}; resume from it with --resume_from_checkpoint, e.g. with a "
             "lower --learning_rate or more --num_warmup_steps" if last else
             "no checkpoint was saved before it (--checkpointing_steps saves them)")
    return f"step {step}: the training loss is {loss} (not finite); training stopped, nothing after it was saved; {where}"


def tracker_config(args: argparse.Namespace) -> dict[str, Any]:
    """The flags as a flat dict of plain values (what trackers accept)."""
    return {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in vars(args).items()}


def _rate(per_second: float) -> str:
    """A throughput for the progress bar: whole numbers when large, two decimals when a step takes seconds."""
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.2f}"
