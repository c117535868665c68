"""The examples run as written: ``examples/trainer_clm.py`` (HF Trainer on an IDInit model, then Trainer's own
resume)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from training.scripts_helpers import ROOT, script_env


@pytest.mark.slow
def test_trainer_example_pretrains_saves_stock_and_resumes(tmp_path):
    """examples/trainer_clm.py: Trainer + TrainingArguments on an IDInit model, then Trainer's own resume."""
    out = tmp_path / "out"

    def run(*flags):
        result = subprocess.run([sys.executable, str(ROOT / "examples" / "trainer_clm.py"), "--output_dir", str(out),
                                 "--save_steps", "2", *flags], env=script_env(), capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    first = run("--max_steps", "4")
    assert "IDInit verified: True" in first and "reloads as GPT2LMHeadModel" in first
    assert json.loads((out / "config.json").read_text())["architectures"] == ["GPT2LMHeadModel"]
    assert json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())["global_step"] == 4
    run("--max_steps", "6", "--resume")
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and [r["step"] for r in state["log_history"] if "eval_loss" in r][:2] == [2, 4]
