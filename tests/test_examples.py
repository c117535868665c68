"""The examples run as written: ``examples/trainer_clm.py`` (HF Trainer on an IDInit model, then Trainer's own
resume) and ``examples/seq2seq_from_scratch.py`` (an encoder-decoder pretrained from scratch, reloaded in stock
transformers)."""

from __future__ import annotations

import json
import re
import runpy
import sys

import pytest
from training.scripts_helpers import ROOT, reset_accelerate_state

import idinit_hf


@pytest.mark.slow
def test_trainer_example_pretrains_saves_stock_and_resumes(tmp_path, monkeypatch, capsys):
    """examples/trainer_clm.py: Trainer + TrainingArguments on an IDInit model, then Trainer's own resume. Both runs
    in this process, as the training scripts' tests run theirs (each would spend most of its seconds importing)."""
    out = tmp_path / "out"
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)  # as the scripts' tests run theirs (script_env)

    def run(*flags):
        monkeypatch.setattr(sys, "argv", ["trainer_clm.py", "--output_dir", str(out), "--save_steps", "2", *flags])
        reset_accelerate_state()
        try:
            runpy.run_path(str(ROOT / "examples" / "trainer_clm.py"), run_name="__main__")
        finally:
            reset_accelerate_state()
            idinit_hf.uninstall()  # the example's own last line, should it stop before it
        return capsys.readouterr().out

    first = run("--max_steps", "4")
    assert "IDInit verified: True" in first and "reloads as GPT2LMHeadModel" in first
    assert json.loads((out / "config.json").read_text())["architectures"] == ["GPT2LMHeadModel"]
    assert json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())["global_step"] == 4
    run("--max_steps", "6", "--resume")
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and [r["step"] for r in state["log_history"] if "eval_loss" in r][:2] == [2, 4]


@pytest.mark.slow
def test_seq2seq_example_trains_from_idinit_and_reloads_in_stock_transformers(tmp_path, monkeypatch, capsys):
    """examples/seq2seq_from_scratch.py on a T5, briefly: verified IDInit, attention branches at ≈ 0, the loss falls,
    a stock reload (in this process: a fresh one would spend most of its seconds importing transformers)."""
    monkeypatch.setattr(sys, "argv", ["seq2seq_from_scratch.py", "--model_type", "t5", "--layers", "2", "--width",
                                      "32", "--steps", "40", "--batch_size", "8", "--lr", "3e-3", "--output_dir",
                                      str(tmp_path)])
    monkeypatch.setattr(sys, "path", list(sys.path))  # the example puts the checkout first
    runpy.run_path(str(ROOT / "examples" / "seq2seq_from_scratch.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "IDInit verified: True" in out and "bit-identical=True" in out
    # the attention branches start at ≈ 0 (IDIZε); T5's MLP branches are live (its default idinit_mlp_out="default")
    branches = re.search(r"largest attention branch (\S+), largest MLP branch (\S+) \(idinit_mlp_out='default'\)", out)
    assert float(branches.group(1)) < 1e-4 < float(branches.group(2))
    first = float(re.search(r"step    1  train loss (\S+)", out).group(1))
    held_out = float(re.search(r"held-out loss (\S+)", out).group(1))
    assert held_out < first
    assert json.loads((tmp_path / "config.json").read_text())["init_method"] == "idinit"
