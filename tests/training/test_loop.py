"""The pure pieces of idinit_hf.training, one property per test (fast, in-process, no training)."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from idinit_hf.training.args import output_dir_problem, parse_config_overrides
from idinit_hf.training.checkpoints import complete_checkpoints, latest_checkpoint
from idinit_hf.training.data import SeededMaskingCollator, check_block_size, embedded_text_documents
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.loop import StepPlan, parameter_groups, plan_steps
from idinit_hf.training.metrics import load_metric
from idinit_hf.training.model_card import init_summary, model_card
from idinit_hf.training.plotting import curves, plot_loss_curves
from idinit_hf.training.precision import RankPrecision, resolve_precision

CPU = RankPrecision(0, "cpu", bf16=True, fp16=False)
A100 = RankPrecision(0, "cuda:0 A100", bf16=True, fp16=True)
V100 = RankPrecision(1, "cuda:1 V100", bf16=False, fp16=True)


def test_config_overrides_parse_and_reject_malformed_items():
    assert parse_config_overrides("n_layer=2, n_embd=64") == {"n_layer": "2", "n_embd": "64"}
    assert parse_config_overrides(None) == {}
    with pytest.raises(BadInputError, match='expected "key=value,key=value"'):
        parse_config_overrides("n_layer=2,n_embd")


def test_output_dir_rules(tmp_path):
    assert output_dir_problem(str(tmp_path / "new"), False, False) is None
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "x").write_text("x")
    assert "not empty" in output_dir_problem(str(tmp_path / "old"), False, False)
    assert output_dir_problem(str(tmp_path / "old"), True, False) is None
    assert output_dir_problem(str(tmp_path / "old"), False, True) is None  # resuming in place


def test_block_size_defaults_to_the_context_length_and_never_exceeds_it():
    assert check_block_size(None, 64) == 64 and check_block_size(None, 4096) == 1024
    assert check_block_size(32, 64) == 32
    with pytest.raises(BadInputError, match="above the model's context length 64"):
        check_block_size(65, 64)


def test_step_plan():
    assert plan_steps(10, 1, None, 3) == StepPlan(10, 3, 30)
    assert plan_steps(10, 4, None, 2) == StepPlan(3, 2, 6)  # the partial accumulation at an epoch's end is a step
    assert plan_steps(10, 1, 25, 3) == StepPlan(10, 3, 25)  # max_train_steps wins


def test_weight_decay_only_on_matrices():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    decay, no_decay = parameter_groups(model, 0.1)
    assert [p.ndim for p in decay["params"]] == [2] and decay["weight_decay"] == 0.1
    assert sorted(p.ndim for p in no_decay["params"]) == [1, 1, 1] and no_decay["weight_decay"] == 0.0


def test_precision_bf16_everywhere_is_kept():
    assert resolve_precision("bf16", [A100, CPU], "error") == ("bf16", None)
    assert resolve_precision("no", [V100], "error") == ("no", None)


def test_precision_bf16_on_a_mixed_job_falls_back_to_fp16_with_a_warning():
    precision, warning = resolve_precision("bf16", [A100, V100], "warn")
    assert precision == "fp16"
    assert "rank 1 (cuda:1 V100)" in warning and "using fp16 on every rank" in warning


def test_precision_fallback_error_refuses():
    with pytest.raises(BadInputError, match="bf16 was asked but is not supported on rank 1"):
        resolve_precision("bf16", [A100, V100], "error")


def test_precision_fp16_on_cpu_falls_back_to_fp32():
    assert resolve_precision("fp16", [CPU], "warn")[0] == "no"


def test_latest_checkpoint_ignores_partial_ones(tmp_path):
    root = tmp_path / "checkpoints"
    for name, complete in (("step_00000002", True), ("step_00000010", True), (".tmp-step_00000012", True),
                           ("step_00000011", False)):
        (root / name).mkdir(parents=True)
        if complete:
            (root / name / "run_state.json").write_text("{}")
    assert [p.name for p in complete_checkpoints(tmp_path)] == ["step_00000002", "step_00000010"]
    assert latest_checkpoint(tmp_path).name == "step_00000010"
    assert latest_checkpoint(tmp_path / "nothing") is None


def test_local_metric_modules_load_offline_and_compute():
    assert load_metric("accuracy").compute(predictions=[1, 2, 3, 4], references=[1, 2, 0, 4])["accuracy"] == 0.75
    result = load_metric("perplexity").compute(nll=[2.0, 6.0], num_tokens=[2, 2])
    assert result["loss"] == 2.0 and result["perplexity"] == pytest.approx(7.389056099)


def test_masking_is_a_pure_function_of_seed_epoch_and_batch():
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(50)]
    tokenizer = BertTokenizerFast(tokenizer_object=None, vocab_file=None, vocab=dict(zip(vocab, range(55), strict=True)))
    examples = [{"input_ids": list(range(5, 45))}, {"input_ids": list(range(10, 50))}]
    collator = SeededMaskingCollator(tokenizer, 0.3, seed=1)
    first = collator(examples)
    torch.manual_seed(123)  # the global RNG does not matter
    assert torch.equal(collator(examples)["labels"], first["labels"])
    collator.epoch = 1
    assert not torch.equal(collator(examples)["labels"], first["labels"])
    assert (first["labels"] != -100).any()


def test_loss_curves_keep_the_last_value_of_a_step(tmp_path):
    records = [{"kind": "train", "step": 1, "loss": 3.0}, {"kind": "train", "step": 2, "loss": 2.0},
               {"kind": "eval", "step": 2, "eval_loss": 2.5}, {"kind": "train", "step": 2, "loss": 1.9}]
    assert curves(records) == {"train": ([1, 2], [3.0, 1.9]), "eval": ([2], [2.5])}
    path = plot_loss_curves({"idinit": records, "default": records}, tmp_path / "curve.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_model_card_states_the_init_method_and_options():
    from transformers import GPT2Config

    config = GPT2Config(n_layer=2, init_method="idinit", idinit_tau=0.5)
    args = argparse.Namespace(task="clm", output_dir="out", seed=42)
    card = model_card(config, args, "pydoc", {"eval_loss": 1.25}, "scripts/pretrain_clm.py")
    assert "**IDInit**" in card and "| `idinit_tau` | `0.5` |" in card and "| eval_loss | 1.25 |" in card
    assert init_summary(GPT2Config()) == {"init_method": "default"}
    json.dumps(init_summary(config))  # all_results.json takes it as is


def test_embedded_corpus_is_there_after_install():
    documents = embedded_text_documents()
    assert len(documents) > 50 and sum(map(len, documents)) > 400_000


def test_accelerate_config_files_load():
    """Every file in configs/accelerate parses with accelerate's own loader, with the settings it claims."""
    from pathlib import Path

    from accelerate.commands.config.config_args import load_config_from_file

    folder = Path(__file__).resolve().parents[1] / "configs" / "accelerate"
    expected = {"cpu_1proc": ("NO", "no", 1), "cpu_2proc": ("MULTI_GPU", "no", 2), "gpu_1": ("NO", "bf16", 1),
                "multi_gpu_bf16": ("MULTI_GPU", "bf16", 4), "multi_gpu_fp16": ("MULTI_GPU", "fp16", 4),
                "fsdp": ("FSDP", "bf16", 4), "deepspeed_zero3": ("DEEPSPEED", "bf16", 4)}
    assert sorted(p.stem for p in folder.glob("*.yaml")) == sorted(expected)
    for name, (kind, precision, processes) in expected.items():
        config = load_config_from_file(str(folder / f"{name}.yaml"))
        assert (config.distributed_type.value, config.mixed_precision, config.num_processes) == (
            kind, precision, processes), name
    # cpu_2proc must not set use_cpu: with it `accelerate launch` starts one process (docs/scripts.md)
    assert load_config_from_file(str(folder / "cpu_2proc.yaml")).use_cpu is False
    json.loads((folder / "deepspeed_zero3.json").read_text())
