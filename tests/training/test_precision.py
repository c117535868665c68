"""Mixed precision decided from every rank's facts (idinit_hf/training/precision.py): pure, quick."""

from __future__ import annotations

import pytest

from idinit_hf.training.errors import BadInputError
from idinit_hf.training.precision import RankPrecision, resolve_precision

CPU = RankPrecision(0, "cpu", bf16=True, fp16=False)
A100 = RankPrecision(0, "cuda:0 A100", bf16=True, fp16=True)
V100 = RankPrecision(1, "cuda:1 V100", bf16=False, fp16=True)


def test_precision_bf16_everywhere_is_kept():
    assert resolve_precision("bf16", [A100, CPU], "error") == ("bf16", None)
    assert resolve_precision("no", [V100], "error") == ("no", None)


def test_precision_bf16_on_a_mixed_job_falls_back_to_fp16_with_a_warning():
    precision, warning = resolve_precision("bf16", [A100, V100], "warn")
    assert precision == "fp16"
    assert "rank 1 (cuda:1 V100)" in warning and "using fp16 on every rank" in warning


def test_precision_fallback_error_refuses():
    with pytest.raises(BadInputError, match="bf16 was asked but is not supported on rank 1"):
        resolve_precision("bf16", [A100, V100], "error")


def test_precision_fp16_on_cpu_falls_back_to_fp32():
    assert resolve_precision("fp16", [CPU], "warn")[0] == "no"
