"""Resumable benchmark runs: one training run and its record, and the results file a rerun continues.

Runs this long do not fit one sitting on a 2-core machine (issue 19). So every run is written to its results file
(atomically: a stopped benchmark never leaves a half-written file) as soon as it ends, with the machine and the
wall time it took, and a rerun of the same command skips every run already there. A run is finished when the file
holds one with the same :func:`run_key`: family, data, depth, seed, method and every training setting (width and
steps included).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import time
from pathlib import Path

import torch
from common import Batches, RunSettings, Splits, build, evaluate, is_image, train_run

from idinit_hf.families import read_options

HERE = Path(__file__).resolve().parent


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """Where a run was made: platform, CPU, torch threads, torch version."""
    return {"platform": platform.platform(), "cpu": cpu_name(), "threads": torch.get_num_threads(),
            "torch": torch.__version__}


def commit() -> str:
    """The short commit of the benchmark code (empty outside a git checkout)."""
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE)
    return result.stdout.strip()


def run_key(run: dict) -> tuple:
    """What makes two runs the same measurement: a rerun skips a run whose key is already in the file."""
    return (run["family"], run["data"], run["depth"], run["seed"], run["method"],
            json.dumps(run["settings"], sort_keys=True))


def batch_size_for(family: str, settings: RunSettings) -> int:
    """Images train 4× as many samples per batch as text has sequences (a 64-token text sequence vs one image)."""
    return 4 * settings.batch_size if is_image(family) else settings.batch_size


def planned(family: str, method: str, depth: int, seed: int, splits: Splits, settings: RunSettings) -> dict:
    """The identifying fields of a run before it runs (what :func:`run_key` reads)."""
    return {"family": family, "data": splits.source, "depth": depth, "seed": seed, "method": method,
            "settings": {**vars(settings), "batch_size": batch_size_for(family, settings)}}


def built_options(model: torch.nn.Module) -> dict | None:
    """The IDInit options ``model`` was built with (its family's defaults of the day included), or None for a
    model built without IDInit: what a method name meant when the run was made (``relabel.py`` reads it)."""
    options = read_options(model.config) if hasattr(model, "config") else None
    return dataclasses.asdict(options) if options is not None else None


def measure(family: str, method: str, depth: int, seed: int, splits: Splits, settings: RunSettings) -> dict:
    """Build ``method``'s model, train it (:func:`common.train_run`), evaluate it on the test split; the record
    carries the curve, train losses, test loss and accuracy, the IDInit options the model was built with (a swap
    probe's: its base method's), the machine, commit and wall time."""
    started = time.perf_counter()
    run = planned(family, method, depth, seed, splits, settings)
    model = build(family, method, depth, settings.width, settings.block_size, splits.image_size, seed)
    if (options := built_options(model)) is not None:
        run["options"] = options
    batches = Batches(splits, family, run["settings"]["batch_size"], settings.block_size, seed)
    run.update(train_run(model, batches, settings))
    run["test_loss"], run["test_acc"] = evaluate(model, batches.evaluation("test", settings.eval_batches))
    run.update(machine=machine(), commit=commit(), wall_seconds=time.perf_counter() - started,
               finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return run


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=1))
    partial.replace(path)


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def session(command: str, started: float, *, complete: bool, **extra) -> dict:
    """What one invocation was: where, which commit, how long, with which command."""
    return {"machine": f"{platform.machine()}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}",
            "commit": commit(), "minutes": (time.time() - started) / 60, "complete": complete, "command": command,
            **extra}
