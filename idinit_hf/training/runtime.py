"""Start of a run: the distributed state (before any data is touched), quiet logs, and the precision check."""

from __future__ import annotations

import argparse
import logging
import warnings

from .loop import use_cpu
from .precision import check_precision

logger = logging.getLogger("idinit_hf.training")


def start(args: argparse.Namespace):
    """The ``PartialState`` of this process and the mixed precision every rank will use.

    Libraries log at warning level on the main process and at error level elsewhere, so N processes do not
    print everything N times. The per-rank precision facts are printed by the main process.
    """
    import datasets
    import transformers
    from accelerate import PartialState

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
    return state, precision
