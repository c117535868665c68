"""scripts/pretrain_clm.py end to end: trains, saves a stock-loadable model, checkpoints, resumes exactly."""

from __future__ import annotations

import json

import pytest

from .scripts_helpers import (
    TINY,
    accelerate_launch,
    assert_learns,
    read_log,
    run_main,
    run_script,
    shared_run,
)

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

STEPS = ["--max_train_steps", "12", "--learning_rate", "1e-2", "--per_device_train_batch_size", "8"]


@pytest.fixture(scope="module")
def clm_run(tmp_path_factory):
    """One IDInit run of 12 steps with evaluation every 6 and a checkpoint every 4 (at most 2 kept)."""
    return shared_run(tmp_path_factory, "clm_run", lambda out: run_main(
        "clm", *TINY["clm"], *STEPS, "--init_method", "idinit", "--idinit_tau", "0.9", "--eval_steps", "6",
        "--checkpointing_steps", "4", "--checkpoints_total_limit", "2", "--output_dir", str(out)))


def test_loss_goes_down_and_evaluates(clm_run):
    assert_learns(clm_run)
    evals = read_log(clm_run, "eval")
    assert [r["step"] for r in evals] == [6, 12]
    assert evals[-1]["eval_loss"] < evals[0]["eval_loss"]
    assert evals[-1]["perplexity"] == pytest.approx(2.718281828 ** evals[-1]["eval_loss"], rel=1e-9)


def test_outputs_and_model_card(clm_run):
    for name in ("model.safetensors", "config.json", "tokenizer.json", "all_results.json", "log.jsonl",
                 "loss_curve.png", "README.md", "training_args.json"):
        assert (clm_run / name).is_file(), name
    results = json.loads((clm_run / "all_results.json").read_text())
    assert results["init_method"] == "idinit" and results["idinit_tau"] == 0.9
    assert results["train_steps"] == 12 and results["eval_perplexity"] > 1
    card = (clm_run / "README.md").read_text()
    assert "IDInit" in card and "`idinit_tau` | `0.9`" in card
    assert (clm_run / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_checkpoints_are_complete_and_rotated(clm_run):
    names = sorted(p.name for p in (clm_run / "checkpoints").iterdir())
    assert names == ["step_00000008", "step_00000012"]  # limit 2: step 4 was removed, no .tmp- left
    state = json.loads((clm_run / "checkpoints" / "step_00000008" / "run_state.json").read_text())
    assert state["completed_steps"] == 8 and state["config"]["n_layer"] == 2


def test_saved_model_loads_in_stock_transformers(clm_run):
    import torch
    import transformers

    model, info = transformers.AutoModelForCausalLM.from_pretrained(clm_run, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    tokenizer = transformers.AutoTokenizer.from_pretrained(clm_run)
    assert type(model).__module__.startswith("transformers.")
    assert model.config.init_method == "idinit" and model.config.idinit_tau == 0.9
    assert model.config.vocab_size == len(tokenizer) and model.config.eos_token_id == tokenizer.eos_token_id
    ids = tokenizer("The import statement", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.isfinite(model(ids).logits).all()


def test_resume_reproduces_the_uninterrupted_losses_exactly(clm_run, tmp_path):
    """Resume from step 8 (dropout on, evaluation at 6 and 12) in a fresh process, as after a crash: steps 9..12
    and the final eval are identical to the uninterrupted run's."""
    run_script("clm", *TINY["clm"], *STEPS, "--init_method", "idinit", "--idinit_tau", "0.9", "--eval_steps", "6",
               "--resume_from_checkpoint", str(clm_run / "checkpoints" / "step_00000008"),
               "--output_dir", str(tmp_path / "resumed"))
    uninterrupted = {r["step"]: r["loss"] for r in read_log(clm_run)}
    resumed = {r["step"]: r["loss"] for r in read_log(tmp_path / "resumed")}
    assert sorted(resumed) == [9, 10, 11, 12]
    assert resumed == {step: uninterrupted[step] for step in resumed}
    assert read_log(tmp_path / "resumed", "eval")[-1] == read_log(clm_run, "eval")[-1]


def test_two_processes_on_cpu(tmp_path):
    """DDP over gloo with configs/accelerate/cpu_2proc.yaml: both ranks run, synchronized, learn, and save once.
    (The one multi-process run of the map-style path: the MLM and ViT scripts share all of it.)"""
    out = tmp_path / "ddp"
    result = run_script("clm", *TINY["clm"], "--max_train_steps", "8", "--learning_rate", "1e-2",
                        "--checkpointing_steps", "4", "--output_dir", str(out), launcher=accelerate_launch())
    assert "rank 1: cpu" in result.stderr and "(2 processes)" in result.stderr
    results = json.loads((out / "all_results.json").read_text())
    assert results["num_processes"] == 2 and results["global_batch_size"] == 16
    checkpoint = out / "checkpoints" / "step_00000004"
    assert (checkpoint / "random_states_0.pkl").is_file() and (checkpoint / "random_states_1.pkl").is_file()
    assert [r["step"] for r in read_log(out)] == list(range(1, 9))
    assert_learns(out)


def test_llama_family_model_types_pretrain_and_reload_in_stock_transformers(tmp_path):
    """``--model_type qwen2`` with the same flags: a Llama-family model (GQA, IDInit, a trained tokenizer) whose
    config derives per-layer fields (``layer_types``) from the depth that --config_overrides sets."""
    import transformers

    model_type = "qwen2"
    out = tmp_path / model_type
    overrides = ("num_hidden_layers=2,hidden_size=32,num_attention_heads=4,num_key_value_heads=2,"
                 "intermediate_size=88,max_position_embeddings=64")
    run_main("clm", "--model_type", model_type, "--config_overrides", overrides, "--block_size", "32",
             "--vocab_size", "300", "--max_eval_samples", "2", "--max_train_steps", "6", "--learning_rate", "1e-2",
             "--init_method", "idinit", "--idinit_gqa", "group", "--output_dir", str(out))
    assert_learns(out)
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == model_type and config["init_method"] == "idinit" and config["idinit_gqa"] == "group"
    model = transformers.AutoModelForCausalLM.from_pretrained(out)
    assert type(model).__module__.startswith("transformers.models.")
