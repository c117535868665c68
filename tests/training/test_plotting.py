"""The loss-curve plot (idinit_hf/training/plotting.py)."""

from __future__ import annotations

from idinit_hf.training.plotting import curves, plot_loss_curves


def test_loss_curves_keep_the_last_value_of_a_step(tmp_path):
    records = [{"kind": "train", "step": 1, "loss": 3.0}, {"kind": "train", "step": 2, "loss": 2.0},
               {"kind": "eval", "step": 2, "eval_loss": 2.5}, {"kind": "train", "step": 2, "loss": 1.9}]
    assert curves(records) == {"train": ([1, 2], [3.0, 1.9]), "eval": ([2], [2.5])}
    path = plot_loss_curves({"idinit": records, "default": records}, tmp_path / "curve.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
