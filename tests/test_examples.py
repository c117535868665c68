"""The examples run as written: ``examples/trainer_clm.py`` (HF Trainer on an IDInit model, then Trainer's own
resume) and ``examples/seq2seq_from_scratch.py`` (an encoder-decoder pretrained from scratch, reloaded in stock
transformers)."""

from __future__ import annotations

import json
import re
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


@pytest.mark.slow
def test_seq2seq_example_trains_from_idinit_and_reloads_in_stock_transformers(tmp_path):
    """examples/seq2seq_from_scratch.py on a T5, briefly: verified IDInit, identity blocks, the loss falls, a stock
    reload (one process: most of its seconds are importing transformers)."""
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "seq2seq_from_scratch.py"), "--model_type",
                             "t5", "--layers", "2", "--width", "32", "--steps", "40", "--batch_size", "8",
                             "--lr", "3e-3", "--output_dir", str(tmp_path)], env=script_env(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "IDInit verified: True" in out and "bit-identical=True" in out
    first = float(re.search(r"step    1  train loss (\S+)", out).group(1))
    held_out = float(re.search(r"held-out loss (\S+)", out).group(1))
    assert held_out < first
    assert json.loads((tmp_path / "config.json").read_text())["init_method"] == "idinit"
