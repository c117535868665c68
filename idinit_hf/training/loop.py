"""The training loop on ``accelerate.Accelerator``, shared by the three scripts: one path for every kind of data.

One optimizer step = ``--gradient_accumulation_steps`` micro-batches on every rank. Steps, evaluation, logging
and checkpoints all count optimizer steps, as in the HF ``*_no_trainer`` scripts. The training data is a
:class:`~idinit_hf.training.data.train_data.TrainData`: it says how long the run is, builds and prepares its
loader, hands out ``(epoch, batch)`` from where the run stands, and records that position in each checkpoint
and restores it on a resume. In-memory data (:class:`~idinit_hf.training.data.train_data.InMemoryData`)
records the epoch and the batches done in it; resuming sets the epoch of the seeded sampler (so the epoch's
order is the same) and skips those batches with ``accelerator.skip_first_batches``. A ``--streaming`` run's data
(:class:`~idinit_hf.training.data.stream.StreamedData`) records every rank's stream position. On CPU the resumed
run's losses equal the uninterrupted run's exactly (``tests/training/test_scripts_clm.py``), and after a SIGKILL
the final weights are bit-identical (``tests/training/test_scripts_faults.py``,
``tests/training/test_scripts_streaming.py``).

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
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration
from tqdm.auto import tqdm
from transformers import get_scheduler

from .checkpoints import latest_checkpoint, read_run_state, save_checkpoint
from .data.train_data import StepPlan, TrainData, seeded_loader
from .errors import BadInputError, TrainingStopped, error_summary
from .tasks import Task
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
    task: Task  # what the throughput counts (tokens or images) and the checkpoints' task name
    train_data: TrainData  # data.train_data.InMemoryData or data.stream.StreamedData
    eval_dataset: Any | None
    collate_fn: Callable
    evaluator: Any
    savers: tuple = ()  # tokenizer / image processor, saved into each checkpoint
    config_dict: dict = field(default_factory=dict)  # the model config, recorded in checkpoints
    resume_from: Path | None = None
    on_epoch: Callable[[int], None] | None = None  # e.g. tell the MLM collator the epoch
    flops_per_unit: float = 0.0  # model training FLOPs per token / image (throughput.flops_per_token); 0: unknown


@dataclass
class TrainingResult:
    model: torch.nn.Module  # the trained model as accelerate prepared it (accelerator.unwrap_model to save it)
    metrics: dict[str, float]
    completed_steps: int
    train_seconds: float
    units_per_second: float
    history: list[dict[str, Any]]
    speed: dict[str, Any] = field(default_factory=dict)  # throughput per process and in total, FLOPs, MFU


def make_scheduler(optimizer, args: argparse.Namespace, num_processes: int, plan: StepPlan):
    """Warm-up + decay over the run's optimizer steps.

    The scheduler is stepped once per optimizer step on each process; accelerate's prepared scheduler steps
    num_processes times per call, so its horizon is counted in those units (as in the HF scripts).
    """
    return get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=args.num_warmup_steps * num_processes,
                         num_training_steps=plan.max_steps * num_processes)


class TrainingRun:
    """One run of the loop: the prepared objects, the counters, and one method per thing the loop does."""

    def __init__(self, job: TrainingJob) -> None:
        args, accelerator = job.args, job.accelerator
        self.job, self.args, self.accelerator, self.data = job, args, accelerator, job.train_data
        optimizer = make_optimizer(job.model, args)
        self.plan = self.data.plan(args, accelerator.num_processes)
        scheduler = make_scheduler(optimizer, args, accelerator.num_processes, self.plan)
        self.model, self.optimizer, self.scheduler = self.data.prepare(accelerator, args, job.collate_fn, job.model,
                                                                       optimizer, scheduler)
        self.eval_loader = None
        if job.eval_dataset is not None:
            self.eval_loader = accelerator.prepare(seeded_loader(job.eval_dataset, args.per_device_eval_batch_size,
                                                                 job.collate_fn, args.seed))
        self.completed = self.resume(job.resume_from) if job.resume_from is not None else 0
        if args.with_tracking:
            accelerator.init_trackers("pretrain", tracker_config(args))
        self.log = RunLog(accelerator, args.output_dir, args.with_tracking,
                          keep_until_step=self.completed if job.resume_from is not None else None)
        self.metrics: dict[str, float] = {}
        self.train_seconds, self.units_done = 0.0, 0
        self.peak_tflops = getattr(args, "peak_tflops", None) or device_peak_tflops(accelerator.device)
        self._reset_step()

    def resume(self, checkpoint: Path) -> int:
        """Load a checkpoint's state into the prepared objects and its position into the data; return the
        completed steps."""
        try:  # everything but the safetensors weights is read with torch.load(weights_only=True): no code runs
            self.accelerator.load_state(str(checkpoint))
        except Exception as error:  # a file that is not what it claims to be
            raise BadInputError(f"checkpoint {checkpoint} could not be loaded ({error_summary(error)})") from None
        state = read_run_state(checkpoint)
        self.data.load_state(state, checkpoint)
        self.accelerator.print(f"resumed from {checkpoint}: step {state['completed_steps']}, epoch {state['epoch']}, "
                               f"{state['batches_in_epoch']} batches into it")
        return state["completed_steps"]

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
        self.step_units += self.job.task.count_units(batch)

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
        rate, unit, speed = self.units_per_second(), self.job.task.unit, self.speed()
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
        return speed_summary(self.job.task.unit, self.units_per_second(), self.accelerator.num_processes,
                             self.job.flops_per_unit, self.peak_tflops)

    # -- evaluation and checkpoints
    def evaluate(self) -> dict[str, float]:
        if self.eval_loader is None:
            return {}
        metrics = evaluate(self.accelerator, self.model, self.eval_loader, self.job.evaluator)
        self.log.write({"kind": "eval", "step": self.completed, **metrics})
        return metrics

    def checkpoint(self) -> None:
        """Save a checkpoint of this step: accelerate's state, the savers, and ``run_state.json`` with the task,
        the step, where the data stands and the model config."""
        run_state = {"task": self.job.task.name, "completed_steps": self.completed, **self.data.state(),
                     "config": self.job.config_dict}
        path = save_checkpoint(self.accelerator, self.args.output_dir, self.completed, run_state, self.job.savers,
                               self.args.checkpoints_total_limit)
        self.accelerator.print(f"saved checkpoint {path}")

    def after_step(self) -> None:
        """Evaluate and checkpoint when their step counts say so."""
        args = self.args
        if args.eval_steps and self.completed % args.eval_steps == 0 and self.completed < self.plan.max_steps:
            self.metrics = self.evaluate()
            self.accelerator.print(f"step {self.completed}: " + ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items()))
        if isinstance(args.checkpointing_steps, int) and self.completed % args.checkpointing_steps == 0:
            self.checkpoint()

    # -- the loop
    def train_on(self, batch: dict, epoch: int, progress) -> bool:
        """One micro-batch; when it completes an optimizer step, count, log, evaluate and checkpoint it.
        Returns whether the run has reached its last step."""
        self.micro_step(batch)
        if not self.accelerator.sync_gradients:
            return False
        mean_loss = self.finish_step(progress)
        self.log_step(mean_loss, epoch, progress)
        progress.update(1)
        self.after_step()
        self._reset_step()
        return self.completed >= self.plan.max_steps

    def run(self) -> TrainingResult:
        """Train on the data's batches, from where a resume left off, until the plan's last step; then the final
        evaluation."""
        progress = tqdm(total=self.plan.max_steps, initial=self.completed, desc="training", dynamic_ncols=True,
                        disable=not self.accelerator.is_local_main_process)
        self.model.train()
        if self.completed < self.plan.max_steps:
            for epoch, batch in self.data.batches(self.plan, self.job.on_epoch):
                last = self.train_on(batch, epoch, progress)
                if self.args.checkpointing_steps == "epoch" and self.data.at_epoch_end:
                    self.checkpoint()
                    self.step_start = time.perf_counter()
                if last:
                    break
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
