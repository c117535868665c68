"""The training loop on ``accelerate.Accelerator``, shared by the three scripts.

One optimizer step = ``--gradient_accumulation_steps`` micro-batches on every rank. Steps, evaluation, logging
and checkpoints all count optimizer steps, as in the HF ``*_no_trainer`` scripts. A checkpoint records the epoch
and the number of batches done in it; resuming sets the epoch of the seeded sampler (so the epoch's order is the
same) and skips those batches with ``accelerator.skip_first_batches``. On CPU the resumed run's losses equal the
uninterrupted run's exactly (``tests/test_scripts_clm.py``), and after a SIGKILL the final weights are
bit-identical (``tests/test_faults.py``).
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

from .args import BadInputError, TrainingStopped, error_summary
from .checkpoints import checkpoint_name, latest_checkpoint, read_run_state, save_checkpoint

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
    """The ``Accelerator`` of the run: resolved precision, accumulation, trackers, a seeded data order."""
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


@dataclass
class TrainingResult:
    metrics: dict[str, float]
    completed_steps: int
    train_seconds: float
    units_per_second: float
    history: list[dict[str, Any]]


def train(job: TrainingJob) -> TrainingResult:
    """Train, evaluating every ``--eval_steps`` and at the end, checkpointing every ``--checkpointing_steps``."""
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_scheduler

    args, accelerator = job.args, job.accelerator
    # Each loader gets its own generator: a torch DataLoader draws a base seed every time it is iterated, and
    # from the global RNG that would shift dropout after a resume (which starts a new iterator mid-epoch).
    train_loader = DataLoader(job.train_dataset, batch_size=args.per_device_train_batch_size, shuffle=True,
                              collate_fn=job.collate_fn, generator=torch.Generator().manual_seed(args.seed))
    eval_loader = None
    if job.eval_dataset is not None:
        eval_loader = DataLoader(job.eval_dataset, batch_size=args.per_device_eval_batch_size,
                                 collate_fn=job.collate_fn, generator=torch.Generator().manual_seed(args.seed))
    optimizer = make_optimizer(job.model, args)
    # The scheduler is stepped once per optimizer step on each process; accelerate's prepared scheduler steps
    # num_processes times per call, so its horizon is counted in those units (as in the HF scripts).
    batches_per_process = math.ceil(len(train_loader) / accelerator.num_processes)
    plan = plan_steps(batches_per_process, args.gradient_accumulation_steps, args.max_train_steps,
                      args.num_train_epochs)
    scheduler = get_scheduler(args.lr_scheduler_type, optimizer,
                              num_warmup_steps=args.num_warmup_steps * accelerator.num_processes,
                              num_training_steps=plan.max_steps * accelerator.num_processes)
    model, optimizer, train_loader, scheduler = accelerator.prepare(job.model, optimizer, train_loader, scheduler)
    if eval_loader is not None:
        eval_loader = accelerator.prepare(eval_loader)
    plan = plan_steps(len(train_loader), args.gradient_accumulation_steps, args.max_train_steps,
                      args.num_train_epochs)

    completed, start_epoch, skip = 0, 0, 0
    if job.resume_from is not None:
        try:  # everything but the safetensors weights is read with torch.load(weights_only=True): no code runs
            accelerator.load_state(str(job.resume_from))
        except Exception as error:  # a file that is not what it claims to be
            raise BadInputError(f"checkpoint {job.resume_from} could not be loaded ({error_summary(error)})") from None
        state = read_run_state(job.resume_from)
        completed, start_epoch, skip = state["completed_steps"], state["epoch"], state["batches_in_epoch"]
        accelerator.print(f"resumed from {job.resume_from}: step {completed}, epoch {start_epoch}, "
                          f"{skip} batches into it")
    if args.with_tracking:
        accelerator.init_trackers("pretrain", tracker_config(args))
    log = RunLog(accelerator, args.output_dir, args.with_tracking,
                 keep_until_step=completed if job.resume_from is not None else None)

    def checkpoint(epoch: int, batches_in_epoch: int) -> None:
        if batches_in_epoch >= len(train_loader):  # at the end of an epoch: resume at the next one
            epoch, batches_in_epoch = epoch + 1, 0
        run_state = {"task": args.task, "completed_steps": completed, "epoch": epoch,
                     "batches_in_epoch": batches_in_epoch, "config": job.config_dict}
        path = save_checkpoint(accelerator, args.output_dir, completed, run_state, job.savers,
                               args.checkpoints_total_limit)
        accelerator.print(f"saved checkpoint {path}")

    def run_eval() -> dict[str, float]:
        if eval_loader is None:
            return {}
        metrics = evaluate(accelerator, model, eval_loader, job.evaluator)
        log.write({"kind": "eval", "step": completed, **metrics})
        return metrics

    progress = tqdm(total=plan.max_steps, initial=completed, disable=not accelerator.is_local_main_process,
                    desc="training", dynamic_ncols=True)
    model.train()
    metrics: dict[str, float] = {}
    train_seconds, units_done = 0.0, 0
    step_loss, step_micro, step_units = torch.zeros((), device=accelerator.device), 0, 0
    step_start = time.perf_counter()
    epoch = start_epoch
    for epoch in range(start_epoch, plan.num_epochs):
        if completed >= plan.max_steps:
            break
        train_loader.set_epoch(epoch)
        if job.on_epoch is not None:
            job.on_epoch(epoch)
        batches_in_epoch = skip if epoch == start_epoch else 0
        loader = accelerator.skip_first_batches(train_loader, batches_in_epoch) if batches_in_epoch else train_loader
        for batch in loader:
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients and args.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            batches_in_epoch += 1
            step_loss += loss.detach().float()
            step_micro += 1
            step_units += job.count_units(batch)
            if not accelerator.sync_gradients:
                continue
            completed += 1
            now = time.perf_counter()
            train_seconds += now - step_start
            units_done += step_units * accelerator.num_processes
            # every step, on every rank (the mean is all-reduced): a NaN/inf stops the run before it can be
            # checkpointed, and all ranks stop together
            mean_loss = accelerator.reduce(step_loss / step_micro, reduction="mean").item()
            if not math.isfinite(mean_loss):
                progress.close()
                log.write({"kind": "stopped", "step": completed, "loss": str(mean_loss)})
                raise TrainingStopped(non_finite_message(completed, mean_loss, args.output_dir, job.resume_from))
            if completed % args.logging_steps == 0 or completed == plan.max_steps:
                rate = units_done / train_seconds if train_seconds > 0 else 0.0
                lr = scheduler.get_last_lr()[0]
                log.write({"kind": "train", "step": completed, "epoch": epoch, "loss": mean_loss, "lr": lr,
                           f"{job.unit}_per_second": rate})
                progress.set_postfix({"loss": f"{mean_loss:.4f}", "lr": f"{lr:.2e}", f"{job.unit}/s": _rate(rate)})
            progress.update(1)
            step_loss, step_micro, step_units = torch.zeros((), device=accelerator.device), 0, 0
            if args.eval_steps and completed % args.eval_steps == 0 and completed < plan.max_steps:
                metrics = run_eval()
                accelerator.print(f"step {completed}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if isinstance(args.checkpointing_steps, int) and completed % args.checkpointing_steps == 0:
                checkpoint(epoch, batches_in_epoch)
            step_start = time.perf_counter()
            if completed >= plan.max_steps:
                break
        if args.checkpointing_steps == "epoch" and batches_in_epoch >= len(train_loader):
            checkpoint(epoch, batches_in_epoch)
            step_start = time.perf_counter()
    progress.close()
    metrics = run_eval()
    if metrics:
        accelerator.print("final: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    rate = units_done / train_seconds if train_seconds > 0 else 0.0
    job.model = model
    return TrainingResult(metrics, completed, train_seconds, rate, list(log.records))


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


def checkpoint_path(output_dir: str, step: int) -> Path:
    return Path(output_dir) / "checkpoints" / checkpoint_name(step)


def _rate(per_second: float) -> str:
    """A throughput for the progress bar: whole numbers when large, two decimals when a step takes seconds."""
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.2f}"
