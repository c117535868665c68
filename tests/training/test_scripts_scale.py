"""The switches for real scale, end to end on CPU: --gradient_checkpointing, --torch_compile, throughput and MFU."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from .scripts_helpers import TINY, read_log, run_main, run_script

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

TEN_STEPS = ["--max_train_steps", "10", "--learning_rate", "1e-2", "--per_device_train_batch_size", "4"]


def test_gradient_checkpointing_gives_the_same_losses(tmp_path):
    """10 steps with and without recomputation, GPT-2 with dropout on (the masks must be replayed): same losses
    to float tolerance, and the same final evaluation. (The switch is transformers' own, the same for every
    architecture; GPT-2 is the one with dropout.)"""
    for name, extra in (("plain", []), ("checkpointed", ["--gradient_checkpointing"])):
        run_main("clm", *TINY["clm"], *TEN_STEPS, *extra, "--output_dir", str(tmp_path / name))
    plain, checkpointed = read_log(tmp_path / "plain"), read_log(tmp_path / "checkpointed")
    assert [r["step"] for r in checkpointed] == list(range(1, 11))
    for a, b in zip(plain, checkpointed, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5, abs=1e-6), (a, b)
    assert (read_log(tmp_path / "checkpointed", "eval")[-1]["eval_loss"]
            == pytest.approx(read_log(tmp_path / "plain", "eval")[-1]["eval_loss"], rel=1e-5))


def test_throughput_and_mfu_are_logged_with_a_given_peak(tmp_path):
    out = tmp_path / "run"
    run_main("clm", *TINY["clm"], "--max_train_steps", "3", "--peak_tflops", "0.5", "--output_dir", str(out))
    results = json.loads((out / "all_results.json").read_text())
    assert results["peak_tflops"] == 0.5 and results["flops_per_token"] > 0
    expected = results["flops_per_token"] * results["tokens_per_second_per_process"] / 0.5e12
    assert results["mfu"] == pytest.approx(expected, rel=1e-2, abs=1e-4)
    assert all(isinstance(r["mfu"], float) and r["tokens_per_second_per_process"] > 0 for r in read_log(out))


def test_mfu_is_unknown_on_cpu_without_a_peak(tmp_path):
    out = tmp_path / "run"
    run_main("vit", *TINY["vit"], "--max_train_steps", "2", "--output_dir", str(out))
    results = json.loads((out / "all_results.json").read_text())
    assert results["mfu"] == "unknown" and results["peak_tflops"] == "unknown"
    assert results["images_per_second"] > 0 and results["flops_per_image"] > 0


#: The smallest GPT-2 that still has every kind of layer (one block), short blocks, no validation split (an
#: evaluation would compile the model a second time, in eval mode): the compile is most of this test's time.
COMPILED = ["--config_overrides", "n_layer=1,n_embd=16,n_head=2,n_positions=16", "--block_size", "16",
            "--vocab_size", "260", "--validation_split_percentage", "0"]


def test_torch_compile_trains_checkpoints_and_saves_a_stock_model(tmp_path):
    """One compile (CPU inductor), 3 steps, a checkpoint, in a fresh process: the saved weights carry the
    model's own names (no ``_orig_mod.`` prefix) and the losses are finite."""
    out = tmp_path / "compiled"
    result = run_script("clm", *COMPILED, "--max_train_steps", "3", "--checkpointing_steps", "3",
                        "--torch_compile", "--output_dir", str(out), timeout=900)
    assert "Traceback" not in result.stderr
    names = set(load_file(str(out / "model.safetensors")))
    assert names and not any("_orig_mod" in name for name in names)
    assert len(read_log(out)) == 3 and (out / "checkpoints" / "step_00000003" / "run_state.json").is_file()
