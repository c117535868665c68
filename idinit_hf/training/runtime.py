"""Start of a run: the distributed state (before any data is touched), quiet logs, the precision check and, with
``--torch_compile``, a check that torch can compile here."""

from __future__ import annotations

import argparse
import logging
import warnings

import datasets
import torch
import transformers
from accelerate import PartialState
from accelerate.utils import gather_object

from .errors import BadInputError, error_summary
from .loop import use_cpu
from .precision import check_precision

logger = logging.getLogger("idinit_hf.training")


def start(args: argparse.Namespace):
    """The ``PartialState`` of this process and the mixed precision every rank will use.

    Libraries log at warning level on the main process and at error level elsewhere, so N processes do not
    print everything N times. The per-rank precision facts are printed by the main process.
    """
    state = PartialState(cpu=use_cpu(args))
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    logger.setLevel(logging.INFO)
    if state.is_main_process:
        datasets.utils.logging.set_verbosity_warning()
        transformers.utils.logging.set_verbosity_warning()
    else:
        logger.setLevel(logging.ERROR)
        datasets.utils.logging.set_verbosity_error()
        transformers.utils.logging.set_verbosity_error()
        datasets.disable_progress_bars()
    precision, ranks, warning = check_precision(state, args.mixed_precision, args.mixed_precision_fallback)
    if state.is_main_process:
        for rank in ranks:
            logger.info("rank %d: %s, bf16 %s, fp16 %s", rank.rank, rank.device, "yes" if rank.bf16 else "no",
                        "yes" if rank.fp16 else "no")
        logger.info("mixed precision: %s on every rank (%d process%s)", precision, state.num_processes,
                    "es" if state.num_processes > 1 else "")
        if warning:
            warnings.warn(warning, stacklevel=2)
    if getattr(args, "torch_compile", False):
        check_compile(state)
    return state, precision


def compile_problem(device) -> str | None:
    """Why ``torch.compile`` (inductor) cannot work on ``device``, or None: a tiny function is compiled and run
    (a few seconds on CPU: inductor builds a C++ kernel there, so it needs a C++ compiler; on CUDA, Triton)."""
    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile (torch >= 2.0 needed)"
    try:
        from torch import _dynamo  # inside the try: an import that fails is a reason like any other

        if not _dynamo.is_dynamo_supported():
            return f"torch.compile is not supported on this Python/platform (torch {torch.__version__})"
        probe = torch.compile(lambda x: torch.sin(x) * 2 + 1, backend="inductor", fullgraph=True)
        value = probe(torch.ones(8, device=device))
        if not torch.allclose(value.cpu(), torch.full((8,), float(torch.sin(torch.tensor(1.0))) * 2 + 1)):
            return "torch.compile ran but returned a wrong value"
    except Exception as error:  # a missing compiler, Triton, an unsupported Python: all end the same way
        return f"torch.compile does not work on {device} ({error_summary(error)})"
    finally:
        if hasattr(torch, "_dynamo"):
            torch._dynamo.reset()
    return None


def check_compile(state) -> None:
    """``--torch_compile``: every rank probes its device; any failure stops every rank with one
    :class:`BadInputError`, before data is loaded or anything is written."""
    problem = compile_problem(state.device)
    problems = gather_object([problem]) if state.num_processes > 1 else [problem]
    failed = [(rank, p) for rank, p in enumerate(problems) if p]
    if failed:
        rank, first = failed[0]
        raise BadInputError(f"--torch_compile: {first}" + (f" (rank {rank})" if state.num_processes > 1 else "")
                            + "; run without --torch_compile")
