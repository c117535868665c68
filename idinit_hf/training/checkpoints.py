"""Resumable checkpoints: written whole or not at all, found by step, rotated, checked against the model.

Layout: ``<output_dir>/checkpoints/step_00000012/`` holds ``accelerator.save_state`` (model, optimizer,
scheduler, gradient scaler, every rank's RNG states), the tokenizer or image processor, and ``run_state.json``
(step, epoch, batches done in the epoch, the model config, and the size of every file). Every rank writes into
``.tmp-step_…`` first; the main process writes ``run_state.json`` last and renames the folder, so a crash mid-save
leaves only a ``.tmp-`` folder that :func:`latest_checkpoint` never picks up. Before a resume the recorded sizes
are compared with the files on disk: a truncated file is reported, never loaded (accelerate would silently skip
unreadable RNG states, and a resumed run would then differ from the uninterrupted one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from .errors import BadInputError, TrainingStopped
from .modeling import architecture_differences

CHECKPOINTS = "checkpoints"
RUN_STATE = "run_state.json"
_NAME = re.compile(r"^step_(\d+)$")


def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}"


def complete_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints under ``output_dir/checkpoints``, oldest first (by step)."""
    root = Path(output_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name)) and (p / RUN_STATE).is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    found = complete_checkpoints(output_dir)
    return found[-1] if found else None


def resolve_resume(resume: str | None, output_dir: str, task: str) -> Path | None:
    """``--resume_from_checkpoint``: a folder or ``latest``. Raises :class:`BadInputError` if there is none, or
    if it was saved by another script (checked first, before anything is loaded from it)."""
    if not resume:
        return None
    if resume == "latest":
        path = latest_checkpoint(output_dir)
        if path is None:
            raise BadInputError(f"--resume_from_checkpoint latest: no complete checkpoint in {output_dir}/{CHECKPOINTS}")
    else:
        path = Path(resume)
        if not (path / RUN_STATE).is_file():
            raise BadInputError(f"--resume_from_checkpoint {resume}: not a checkpoint of these scripts (no {RUN_STATE})")
    saved_by = read_run_state(path).get("task")
    if saved_by != task:
        raise BadInputError(f"checkpoint {path} was saved by the {saved_by!r} script, not {task!r}")
    check_files(path)
    return path


def file_sizes(folder: Path) -> dict[str, int]:
    """``{relative path: size in bytes}`` of every file under ``folder`` (the manifest of a checkpoint)."""
    return {str(f.relative_to(folder)): f.stat().st_size for f in sorted(folder.rglob("*")) if f.is_file()}


def check_files(path: Path) -> None:
    """Refuse a checkpoint whose files are missing or have another size than when it was saved."""
    recorded = read_run_state(path).get("files")
    if recorded is None:  # saved before manifests existed: nothing to compare with
        return
    present = file_sizes(path)
    for name, size in recorded.items():
        if name not in present:
            raise BadInputError(f"checkpoint {path} is incomplete: {name} is missing; resume from an earlier "
                                "checkpoint")
        if present[name] != size:
            raise BadInputError(f"checkpoint {path} is corrupt: {name} has {present[name]} bytes, {size} were "
                                "saved (truncated or overwritten); resume from an earlier checkpoint")


def saved_tokenizer(checkpoint: Path | None) -> str | None:
    """The tokenizer folder inside ``checkpoint`` (a resumed run tokenizes exactly as before), or None."""
    if checkpoint is not None and (checkpoint / "tokenizer.json").is_file():
        return str(checkpoint)
    return None


def read_run_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / RUN_STATE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadInputError(f"checkpoint {path}: {RUN_STATE} is not valid JSON ({error}); the checkpoint is "
                            "damaged, resume from an earlier one") from None


def check_compatible(path: Path, config_dict: dict[str, Any]) -> None:
    """Refuse a checkpoint saved for another model architecture, naming the differences."""
    run_state = read_run_state(path)
    # compare as stored: JSON turns int keys (id2label) into strings
    diffs = architecture_differences(run_state["config"], json.loads(json.dumps(config_dict, default=str)))
    if diffs:
        raise BadInputError(f"checkpoint {path} is from another model: " + "; ".join(diffs))


def save_checkpoint(accelerator, output_dir: str, step: int, run_state: dict[str, Any], extra_savers=(),
                    total_limit: int | None = None) -> Path:
    """Save a complete checkpoint for optimizer step ``step`` (call on every rank), then rotate old ones.

    ``extra_savers``: objects with ``save_pretrained(folder)`` (tokenizer, image processor), saved by the main
    process so the checkpoint is self-contained.
    """
    root = Path(output_dir) / CHECKPOINTS
    final = root / checkpoint_name(step)
    temporary = root / f".tmp-{checkpoint_name(step)}"
    try:
        if accelerator.is_main_process:
            shutil.rmtree(temporary, ignore_errors=True)
            temporary.mkdir(parents=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(temporary))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            for saver in extra_savers:
                saver.save_pretrained(str(temporary))
            # written last: its presence marks the checkpoint complete
            (temporary / RUN_STATE).write_text(json.dumps({**run_state, "files": file_sizes(temporary)},
                                                          indent=1, default=str))
    except OSError as error:  # disk full, quota, permissions: free what was written, keep the older checkpoints
        shutil.rmtree(temporary, ignore_errors=True)
        last = latest_checkpoint(output_dir)
        kept = f"the last complete checkpoint is {last}" if last else "no checkpoint was saved"
        raise TrainingStopped(f"step {step}: could not write the checkpoint in {temporary.parent}: {error}; "
                              f"{kept}") from None
    if accelerator.is_main_process:
        if final.exists():  # the same step saved again (a resumed run): set the old copy aside until replaced
            previous = root / f".old-{checkpoint_name(step)}"
            shutil.rmtree(previous, ignore_errors=True)
            os.replace(final, previous)
            os.replace(temporary, final)
            shutil.rmtree(previous)
        else:
            os.replace(temporary, final)
        if total_limit:
            for old in complete_checkpoints(output_dir)[:-total_limit]:
                shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final
