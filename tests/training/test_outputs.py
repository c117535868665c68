"""The outputs of a run (idinit_hf/training/outputs.py): the free space is checked before anything is written
or deleted. (What a run writes: tests/training/test_scripts_clm.py.)"""

from __future__ import annotations

import argparse
import shutil

import torch

from idinit_hf.training.outputs import space_needed, space_problem


def test_a_checkpoint_needs_the_weights_and_adam_s_two_moments():
    model = torch.nn.Linear(10, 10)  # 110 float32 parameters
    assert space_needed(model, checkpointing=False) == (440, 0)
    assert space_needed(model, checkpointing=True) == (440, 1320)


def test_too_little_space_names_the_sizes(tmp_path, monkeypatch):
    model = torch.nn.Linear(1000, 1000)
    args = argparse.Namespace(output_dir=str(tmp_path / "run"), overwrite_output_dir=False,
                              resume_from_checkpoint=None, checkpointing_steps=10)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 10**6, 10**6))
    assert space_problem(args, model) == (
        f"--output_dir {tmp_path / 'run'}: 1.0 MB free on its disk, the run needs at least 16.0 MB (the final "
        "model, 4.0 MB, and one checkpoint, 12.0 MB); free some space or choose another --output_dir")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 0, 10**9))
    assert space_problem(args, model) is None
