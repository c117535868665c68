"""The final outputs of a run: model (safetensors), tokenizer or image processor, results, plot, model card."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from .loop import LOG_FILE, TrainingResult
from .model_card import init_summary, model_card
from .plotting import plot_loss_curves

RESULTS = "all_results.json"
PLOT = "loss_curve.png"


def prepare_output_dir(args: argparse.Namespace, accelerator) -> None:
    """Create ``--output_dir``; when it is overwritten (not resumed), drop the old run's checkpoints and log so
    that ``--resume_from_checkpoint latest`` and the plot never mix two runs."""
    if accelerator.is_main_process:
        out = Path(args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        if args.overwrite_output_dir and not args.resume_from_checkpoint:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
            (out / LOG_FILE).unlink(missing_ok=True)
    accelerator.wait_for_everyone()


def save_final(args: argparse.Namespace, accelerator, model, config, savers, result: TrainingResult,
               data_source: str, script: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Save the model with ``save_pretrained`` (safetensors) and everything next to it; returns the results."""
    accelerator.wait_for_everyone()
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
