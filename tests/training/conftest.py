"""Fixtures of the training and script tests."""

import json

import pytest

from .scripts_helpers import reset_accelerate_state


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Runs in this process create accelerate's process-wide singletons; every training test starts and ends
    without them, so that no test inherits another's settings."""
    reset_accelerate_state()
    yield
    reset_accelerate_state()


@pytest.fixture
def existing_output(tmp_path):
    """An output folder from an earlier run: a refused run must leave it exactly as it is."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "all_results.json").write_text(json.dumps({"eval_loss": 1.0}))
    (out / "checkpoints" / "step_00000004").mkdir(parents=True)
    (out / "checkpoints" / "step_00000004" / "run_state.json").write_text("{}")
    return out
