"""The local ``evaluate`` modules (idinit_hf/training/metrics/): they load offline, by path, and compute."""

from __future__ import annotations

import pytest

from idinit_hf.training.metrics import load_metric


def test_local_metric_modules_load_offline_and_compute():
    assert load_metric("accuracy").compute(predictions=[1, 2, 3, 4], references=[1, 2, 0, 4])["accuracy"] == 0.75
    result = load_metric("perplexity").compute(nll=[2.0, 6.0], num_tokens=[2, 2])
    assert result["loss"] == 2.0 and result["perplexity"] == pytest.approx(7.389056099)
