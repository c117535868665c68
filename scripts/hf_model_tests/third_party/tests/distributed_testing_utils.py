"""Harness stand-in for transformers' tests/distributed_testing_utils.py (not in the 5.24.0 sdist, not in the index).

The tensor-parallel, expert-parallel and FSDP mixins import these helpers to spawn one process per rank. The harness
does not run multi-process tests (they need several devices or gloo ranks and would not see the IDInit class swap in
spawned children), so every helper skips the calling test. Run with RUN_TENSOR_PARALLEL_TESTS=0 / RUN_FSDP_TESTS=0
(run.py does) and they are not even started.
"""

import unittest

_REASON = "hfharness: distributed (multi-process) tests are not run"


def _skip(*args, **kwargs):
    raise unittest.SkipTest(_REASON)


run_distributed = _skip
_start_rank_processes = _skip


def _get_distributed_backend(*args, **kwargs):
    return "gloo"


def _get_distributed_device_type(*args, **kwargs):
    return "cpu"


def _get_rank_device(*args, **kwargs):
    return "cpu"


def _set_rank_device(*args, **kwargs):
    return None
