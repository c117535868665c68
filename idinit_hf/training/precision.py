"""Mixed precision, checked on every rank before the ``Accelerator`` is built.

A job may mix cards (see docs/mixed-gpus.md): bf16 is used only if *every* rank supports it, because ranks that
disagree on precision would all-reduce gradients of different numerics. Otherwise the run falls back — to
fp16 with a gradient scaler on GPUs, to fp32 on CPUs (accelerate 1.15 accepts fp16 on CPU but builds no gradient
scaler for it, so fp16 training there would underflow unchecked; CPUs count as lacking fp16) —
with a warning, or stops with ``--mixed_precision_fallback error``.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch
from accelerate.utils import gather_object, is_bf16_available

from .errors import BadInputError


@dataclass(frozen=True)
class RankPrecision:
    """What one rank can do."""

    rank: int
    device: str
    bf16: bool
    fp16: bool


def requested_precision(flag: str | None) -> str:
    """``--mixed_precision``, else what ``accelerate launch`` (flag or config file) exported, else ``no``."""
    return (flag or os.environ.get("ACCELERATE_MIXED_PRECISION") or "no").lower()


def probe_rank(rank: int, device_type: str) -> RankPrecision:
    """This process's device and whether it supports bf16 / fp16 autocast."""
    if device_type == "cuda":
        index = torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        return RankPrecision(rank, f"cuda:{index} {name}", torch.cuda.is_bf16_supported(), True)
    if device_type == "cpu":
        # bf16 autocast runs on any x86-64/arm64 CPU torch supports (slowly without AVX512-BF16/AMX);
        # fp16 does not count: accelerate gives CPU fp16 no gradient scaler
        return RankPrecision(rank, f"cpu {platform.processor() or platform.machine()}", True, False)
    return RankPrecision(rank, device_type, bool(is_bf16_available()), True)


def resolve_precision(requested: str, ranks: list[RankPrecision], fallback: str) -> tuple[str, str | None]:
    """The precision every rank will use, and a warning if it differs from ``requested``.

    Pure function of the per-rank facts, so the decision is the same on every rank.
    Raises :class:`BadInputError` when a fallback is needed and ``fallback == "error"``.
    """
    if requested not in ("no", "fp16", "bf16"):
        raise BadInputError(f"mixed precision {requested!r} is not supported; use no, fp16 or bf16")
    if requested == "no":
        return "no", None
    lacking = [r for r in ranks if not getattr(r, requested)]
    if not lacking:
        return requested, None
    where = "; ".join(f"rank {r.rank} ({r.device})" for r in lacking)
    if requested == "bf16" and all(r.fp16 for r in ranks):
        resolved = "fp16"
    else:
        resolved = "no"
    message = (f"{requested} was asked but is not supported on {where}; "
               f"{'using ' + resolved + ' on every rank' if resolved != 'no' else 'training in fp32'}")
    if fallback == "error":
        raise BadInputError(message + " is refused by --mixed_precision_fallback error")
    return resolved, message


def check_precision(state, flag: str | None, fallback: str) -> tuple[str, list[RankPrecision], str | None]:
    """Probe every rank (gathered over ``state``), resolve the precision; returns it, the per-rank facts and
    the fallback warning (None if none)."""
    mine = probe_rank(state.process_index, state.device.type)
    ranks = gather_object([mine]) if state.num_processes > 1 else [mine]
    resolved, warning = resolve_precision(requested_precision(flag), ranks, fallback)
    return resolved, ranks, warning
