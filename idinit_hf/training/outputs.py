"""The final outputs of a run: model (safetensors), tokenizer or image processor, results, plot, model card."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from accelerate.utils import is_compiled_module

from .args import existing_ancestor
from .errors import BadInputError
from .loop import LOG_FILE, TrainingResult
from .model_card import init_summary, model_card
from .plotting import plot_loss_curves

RESULTS = "all_results.json"
PLOT = "loss_curve.png"


def prepare_output_dir(args: argparse.Namespace, accelerator, model) -> None:
    """Check that the run's outputs fit on the disk, then create ``--output_dir``; when it is overwritten (not
    resumed), drop the old run's checkpoints and log so that ``--resume_from_checkpoint latest`` and the plot
    never mix two runs. The space check comes first, so a refused run deletes nothing. Every rank checks (same
    numbers, same verdict), so all stop together."""
    problem = space_problem(args, model)
    if problem:
        raise BadInputError(problem)
    if accelerator.is_main_process:
        out = Path(args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        if args.overwrite_output_dir and not args.resume_from_checkpoint:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
            (out / LOG_FILE).unlink(missing_ok=True)
    accelerator.wait_for_everyone()


def space_needed(model, checkpointing: bool) -> tuple[int, int]:
    """Bytes of (the final model, one checkpoint): the saved weights, and a checkpoint of weights plus AdamW's
    two moments (3x). The least a run writes is the final model, plus one checkpoint when it checkpoints."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return weights, 3 * weights if checkpointing else 0


def space_problem(args: argparse.Namespace, model) -> str | None:
    """Why the run's outputs cannot fit in the free space under ``--output_dir``, or None. An overwritten run's
    old checkpoints count as free: they are deleted before training."""
    free = shutil.disk_usage(existing_ancestor(args.output_dir)).free
    old_checkpoints = Path(args.output_dir) / "checkpoints"
    if args.overwrite_output_dir and not args.resume_from_checkpoint and old_checkpoints.is_dir():
        free += sum(f.stat().st_size for f in old_checkpoints.rglob("*") if f.is_file())
    final, checkpoint = space_needed(model, bool(args.checkpointing_steps))
    if free >= final + checkpoint:
        return None
    parts = f"the final model, {final / 1e6:.1f} MB" + (f", and one checkpoint, {checkpoint / 1e6:.1f} MB"
                                                         if checkpoint else "")
    return (f"--output_dir {args.output_dir}: {free / 1e6:.1f} MB free on its disk, the run needs at least "
            f"{(final + checkpoint) / 1e6:.1f} MB ({parts}); free some space or choose another --output_dir")


def save_final(args: argparse.Namespace, accelerator, model, config, savers, result: TrainingResult,
               data_source: str, script: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Save the model with ``save_pretrained`` (safetensors) and everything next to it; returns the results."""
    accelerator.wait_for_everyone()
    if is_compiled_module(model):  # --torch_compile: save the model's own names, not "_orig_mod.…"
        model = model._orig_mod
    unwrapped = accelerator.unwrap_model(model)
    state_dict = accelerator.get_state_dict(model)  # gathers ZeRO-3 / FSDP shards
    unwrapped.save_pretrained(args.output_dir, is_main_process=accelerator.is_main_process,
                              save_function=accelerator.save, state_dict=state_dict)
    results = {
        **{k if k.startswith("eval_") else f"eval_{k}": v for k, v in result.metrics.items()},
        "train_steps": result.completed_steps,
        "num_processes": accelerator.num_processes,
        "global_batch_size": args.per_device_train_batch_size * args.gradient_accumulation_steps
        * accelerator.num_processes,
        "train_seconds": round(result.train_seconds, 3),
        **result.speed,  # tokens (images) per second in total and per process, FLOPs per unit, peak, MFU
        **{k: v for k, v in (extra or {}).items()},
        **init_summary(config),
    }
    if accelerator.is_main_process:
        out = Path(args.output_dir)
        for saver in savers:
            saver.save_pretrained(args.output_dir)
        (out / RESULTS).write_text(json.dumps(results, indent=1, default=str))
        (out / "training_args.json").write_text(json.dumps(vars(args), indent=1, default=str))
        if result.history:
            plot_loss_curves({config.init_method: result.history}, out / PLOT,
                             title=f"{config.model_type} ({args.task}), init={config.init_method}")
        (out / "README.md").write_text(model_card(unwrapped.config, args, data_source, results, script))
    accelerator.wait_for_everyone()
    return results
