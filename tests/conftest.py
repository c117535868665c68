"""Shared test settings: offline, quiet, deterministic (helpers shared by test modules live in ``helpers.py``)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny models run fastest on one thread, and one thread cannot be slowed down by oversubscribing shared cores
# (two busy torch threads on one free core made single tests 10x slower). Subprocess tests set their own.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
