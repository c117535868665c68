"""Faults during a run: what survives a SIGKILL, a NaN loss, a full disk, an unwritable or corrupt output.

The kills are real (SIGKILL, in a subprocess: nothing is flushed or cleaned up); the moment is chosen by
``tests/training/kill_worker.py`` wrapping a function, so every test is deterministic. The uninterrupted run and
the resumed ones run in this process (a checkpoint resumes exactly in another process: test_scripts_clm.py). The
other faults run the script in-process with one function patched to fail.
"""

from __future__ import annotations

import errno
import json
import shutil
import signal
import sys
from pathlib import Path

import accelerate
import pytest
import torch

from idinit_hf.training import loop
from idinit_hf.training.checkpoints import latest_checkpoint
from idinit_hf.training.errors import run_cli

from .scripts_helpers import (
    KILL_WORKER,
    TINY,
    assert_bit_identical,
    fails,
    load_script,
    read_log,
    run_main,
    run_script,
    shared_run,
    snapshot,
    weights,
)

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

#: 12 steps, a checkpoint every 4; GPT-2's dropout is on, so an exact resume needs the saved RNG states too.
RUN = [*TINY["clm"], "--max_train_steps", "12", "--learning_rate", "1e-2", "--per_device_train_batch_size", "8",
       "--checkpointing_steps", "4"]


def killed(when: str, step: int, output_dir: Path) -> None:
    """Run the CLM script under the kill worker; assert it died of SIGKILL."""
    result = run_script("clm", *RUN, "--output_dir", str(output_dir), check=False,
                        launcher=[sys.executable, str(KILL_WORKER), when, str(step)])
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]


def resume_latest(output_dir: Path, capsys) -> str:
    """Resume the killed run from its latest complete checkpoint (in this process); what it printed."""
    capsys.readouterr()
    run_main("clm", *RUN, "--output_dir", str(output_dir), "--resume_from_checkpoint", "latest")
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, torch.Tensor]:
    return weights(shared_run(tmp_path_factory, "uninterrupted", lambda out: run_main("clm", *RUN, "--output_dir",
                                                                                      str(out))))


def test_sigkill_between_checkpoints_then_resume_is_bit_identical(uninterrupted, tmp_path, capsys):
    out = tmp_path / "run"
    killed("after-step", 10, out)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00000004", "step_00000008"]
    assert not (out / "model.safetensors").exists()
    assert "resumed from" in (log := resume_latest(out, capsys)) and "step_00000008: step 8" in log
    assert_bit_identical(weights(out), uninterrupted)


def test_sigkill_while_saving_leaves_an_incomplete_checkpoint_that_is_never_used(uninterrupted, tmp_path, capsys):
    out = tmp_path / "run"
    killed("while-saving", 8, out)
    partial = out / "checkpoints" / ".tmp-step_00000008"
    assert (partial / "model.safetensors").is_file() and not (partial / "run_state.json").exists()
    assert latest_checkpoint(out).name == "step_00000004"
    assert "step_00000004: step 4" in resume_latest(out, capsys)
    assert_bit_identical(weights(out), uninterrupted)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00000004", "step_00000008",
                                                                       "step_00000012"]


# ------------------------------------------------------------------------------------------ in-process faults
SHORT = [*TINY["clm"], "--max_train_steps", "8", "--per_device_train_batch_size", "4", "--checkpointing_steps", "2"]


def nan_loss_at(step: int):
    """A ``loop.train`` whose model returns a NaN loss at training micro-batch ``step`` (accumulation 1)."""
    train = loop.train

    def train_with_nan(job):
        forward, calls = job.model.forward, [0]

        def forward_with_nan(*args, **kwargs):
            output = forward(*args, **kwargs)
            if job.model.training:
                calls[0] += 1
                if calls[0] == step:
                    output.loss = output.loss * float("nan")
            return output

        job.model.forward = forward_with_nan
        return train(job)

    return train_with_nan


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(loop, "train", nan_loss_at(5))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        run_cli(load_script("clm").main, [*SHORT, "--output_dir", str(out)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error: step 5: the training loss is nan (not finite); training stopped" in err, err
    assert f"the last complete checkpoint is {out / 'checkpoints' / 'step_00000004'}" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00000002", "step_00000004"]
    assert not (out / "model.safetensors").exists() and not (out / "all_results.json").exists()
    assert read_log(out, "stopped") == [{"kind": "stopped", "step": 5, "loss": "nan"}]


def test_a_diverging_learning_rate_stops_at_the_first_non_finite_loss(tmp_path, capsys):
    """No patch: lr 1e30 without clipping blows the weights up; the first NaN step stops the run."""
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        run_cli(load_script("clm").main, [*SHORT, "--learning_rate", "1e30", "--max_grad_norm", "0",
                                          "--output_dir", str(out)])
    assert exit_info.value.code == 1
    stopped = read_log(out, "stopped")
    assert len(stopped) == 1 and stopped[0]["loss"] in ("nan", "inf")
    assert f"step {stopped[0]['step']}: the training loss is {stopped[0]['loss']}" in capsys.readouterr().err
    assert [r["step"] for r in read_log(out)] == list(range(1, stopped[0]["step"]))


def test_disk_full_while_checkpointing_stops_and_keeps_the_older_checkpoints(tmp_path, monkeypatch, capsys):
    save_state = accelerate.Accelerator.save_state

    def save_until_full(self, output_dir=None, **kwargs):
        if output_dir.endswith("step_00000004"):
            (Path(output_dir) / "model.safetensors").write_bytes(b"\0" * 100)  # a partial write, then ENOSPC
            raise OSError(errno.ENOSPC, "No space left on device")
        return save_state(self, output_dir, **kwargs)

    monkeypatch.setattr(accelerate.Accelerator, "save_state", save_until_full)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        run_cli(load_script("clm").main, [*SHORT, "--output_dir", str(out)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error: step 4: could not write the checkpoint" in err and "No space left on device" in err, err
    assert f"the last complete checkpoint is {out / 'checkpoints' / 'step_00000002'}" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00000002"]  # partial one removed


def test_too_little_free_space_fails_before_anything_is_deleted(existing_output, monkeypatch, capsys):
    """An overwritten run deletes the old checkpoints; a run that cannot fit must not get that far."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    before = snapshot(existing_output)
    err = fails("clm", [*SHORT, "--output_dir", str(existing_output), "--overwrite_output_dir"], capsys)
    assert "MB free on its disk, the run needs at least" in err and "and one checkpoint" in err, err
    assert snapshot(existing_output) == before


@pytest.mark.parametrize("where", ["under a file", "in /proc"])
def test_unwritable_output_dir_fails_before_training(where, tmp_path, capsys):
    if where == "under a file":
        (tmp_path / "a_file").write_text("x")
        output_dir, message = tmp_path / "a_file" / "run", "cannot be created"
    else:  # not writable even by root
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc")
        output_dir, message = Path("/proc/idinit_hf_run"), "is not writable"
    err = fails("clm", [*SHORT, "--output_dir", str(output_dir)], capsys)
    assert f"--output_dir {output_dir} {message}" in err, err


def test_read_only_output_dir_fails_before_training(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes through permission bits; the /proc case covers root")
    folder = tmp_path / "read_only"
    folder.mkdir(mode=0o500)
    err = fails("clm", [*SHORT, "--output_dir", str(folder / "run")], capsys)
    assert "is not writable" in err, err


# --------------------------------------------------------------------------------------- corrupt checkpoints
@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory) -> Path:
    """A finished run with checkpoints at steps 2 and 4 (each test copies it before damaging it)."""
    return shared_run(tmp_path_factory, "checkpointed", lambda out: run_main(
        "clm", *TINY["clm"], "--max_train_steps", "4", "--per_device_train_batch_size", "4",
        "--checkpointing_steps", "2", "--output_dir", str(out)))


@pytest.mark.parametrize("damage, message", [
    ("truncate", "is corrupt: model.safetensors has 100 bytes"),
    ("delete", "is incomplete: random_states_0.pkl is missing"),
    ("garble", "run_state.json is not valid JSON"),
])
def test_damaged_checkpoint_is_refused_before_loading(checkpointed, damage, message, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(checkpointed, out)
    checkpoint = out / "checkpoints" / "step_00000004"
    if damage == "truncate":
        with open(checkpoint / "model.safetensors", "r+b") as file:
            file.truncate(100)
    elif damage == "delete":
        (checkpoint / "random_states_0.pkl").unlink()
    else:
        (checkpoint / "run_state.json").write_text('{"task": "clm", "completed')
    before = snapshot(out)
    err = fails("clm", [*TINY["clm"], "--max_train_steps", "6", "--output_dir", str(out),
                        "--resume_from_checkpoint", "latest"], capsys)
    assert f"checkpoint {checkpoint}" in err and message in err, err
    assert snapshot(out) == before


def test_checkpoint_manifest_lists_every_file_with_its_size(checkpointed):
    checkpoint = checkpointed / "checkpoints" / "step_00000004"
    recorded = json.loads((checkpoint / "run_state.json").read_text())["files"]
    on_disk = {str(f.relative_to(checkpoint)): f.stat().st_size for f in checkpoint.rglob("*")
               if f.is_file() and f.name != "run_state.json"}
    assert recorded == on_disk
    assert {"model.safetensors", "optimizer.bin", "scheduler.bin", "random_states_0.pkl", "tokenizer.json"} <= set(recorded)


class _RunsCodeWhenUnpickled:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_a_pickle_that_would_run_code_is_refused(checkpointed, tmp_path, capsys):
    """optimizer.bin replaced by a pickle that creates a file when unpickled, with the size manifest forged to
    match: accelerate reads it with torch.load(weights_only=True), which refuses it; nothing runs."""
    out = tmp_path / "run"
    shutil.copytree(checkpointed, out)
    checkpoint = out / "checkpoints" / "step_00000004"
    marker = tmp_path / "code_ran"
    torch.save(_RunsCodeWhenUnpickled(marker), checkpoint / "optimizer.bin")
    state = json.loads((checkpoint / "run_state.json").read_text())
    state["files"]["optimizer.bin"] = (checkpoint / "optimizer.bin").stat().st_size
    (checkpoint / "run_state.json").write_text(json.dumps(state))
    err = fails("clm", [*TINY["clm"], "--max_train_steps", "6", "--output_dir", str(out),
                        "--resume_from_checkpoint", "latest"], capsys)
    assert f"checkpoint {checkpoint} could not be loaded (UnpicklingError: Weights only load failed" in err, err
    assert not marker.exists()
