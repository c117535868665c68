"""Checkpoints on disk (idinit_hf/training/checkpoints.py): which ones count as complete. (Writing, rotating,
refusing a damaged one: tests/training/test_scripts_faults.py and test_scripts_clm.py.)"""

from __future__ import annotations

from idinit_hf.training.checkpoints import complete_checkpoints, latest_checkpoint


def test_latest_checkpoint_ignores_partial_ones(tmp_path):
    root = tmp_path / "checkpoints"
    for name, complete in (("step_00000002", True), ("step_00000010", True), (".tmp-step_00000012", True),
                           ("step_00000011", False)):
        (root / name).mkdir(parents=True)
        if complete:
            (root / name / "run_state.json").write_text("{}")
    assert [p.name for p in complete_checkpoints(tmp_path)] == ["step_00000002", "step_00000010"]
    assert latest_checkpoint(tmp_path).name == "step_00000010"
    assert latest_checkpoint(tmp_path / "nothing") is None
