"""scripts/pretrain_mlm.py and scripts/pretrain_vit.py end to end: the loss goes down, the metrics are there,
the saved model and its tokenizer / image processor load with stock transformers, an MLM run resumes exactly;
and the CLM script's data sources (local files of each type, a dataset by name, a pretrained config and
tokenizer). Two processes: tests/training/test_scripts_clm.py (the loop and the data loader are the same)."""

from __future__ import annotations

import json

import pytest

from .scripts_helpers import TINY, assert_learns, read_log, run_main

pytestmark = pytest.mark.slow  # trains: the full suite only


def test_mlm_trains_evaluates_reloads_and_resumes_exactly(tmp_path):
    import torch
    import transformers

    out = tmp_path / "bert-idinit"
    flags = [*TINY["mlm"], "--max_train_steps", "12", "--learning_rate", "1e-2", "--eval_steps", "6",
             "--gradient_accumulation_steps", "2", "--init_method", "idinit"]
    run_main("mlm", *flags, "--checkpointing_steps", "6", "--output_dir", str(out))
    assert_learns(out)
    final = read_log(out, "eval")[-1]
    assert final["step"] == 12 and 0 <= final["accuracy"] <= 1 and final["perplexity"] > 1
    results = json.loads((out / "all_results.json").read_text())
    assert results["init_method"] == "idinit" and "eval_accuracy" in results

    model, info = transformers.AutoModelForMaskedLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    assert type(model).__module__.startswith("transformers.") and model.config.init_method == "idinit"
    assert tokenizer.mask_token == "[MASK]" and model.config.pad_token_id == tokenizer.pad_token_id
    encoded = tokenizer("the [MASK] statement", return_tensors="pt")
    with torch.no_grad():
        assert model(**encoded).logits.shape[-1] == len(tokenizer)

    # resume from step 6 (2 micro-batches per step, random masking, dropout): the same losses, bit for bit (in
    # this process; the CLM test resumes in a fresh one)
    run_main("mlm", *flags, "--resume_from_checkpoint", str(out / "checkpoints" / "step_00000006"),
             "--output_dir", str(tmp_path / "resumed"))
    uninterrupted = {r["step"]: r["loss"] for r in read_log(out)}
    resumed = {r["step"]: r["loss"] for r in read_log(tmp_path / "resumed")}
    assert sorted(resumed) == [7, 8, 9, 10, 11, 12]
    assert resumed == {step: uninterrupted[step] for step in resumed}
    assert read_log(tmp_path / "resumed", "eval")[-1] == final


def test_vit_trains_on_the_embedded_digits_and_reloads(tmp_path):
    import transformers

    out = tmp_path / "vit-default"
    run_main("vit", *TINY["vit"], "--max_train_steps", "40", "--learning_rate", "1e-2", "--eval_steps", "20",
               "--num_warmup_steps", "4", "--lr_scheduler_type", "cosine", "--init_method", "default",
               "--output_dir", str(out))
    assert_learns(out)
    evals = read_log(out, "eval")
    assert [r["step"] for r in evals] == [20, 40] and evals[-1]["accuracy"] > 0.2  # chance is 0.1
    model, info = transformers.AutoModelForImageClassification.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    processor = transformers.AutoImageProcessor.from_pretrained(out)
    assert model.config.init_method == "default" and model.config.num_labels == 10
    assert model.config.id2label[3] == "3"
    assert processor.size["height"] == 8


def test_vit_reads_an_image_folder(tmp_path):
    """--train_dir through datasets' imagefolder: RGB PNGs in class folders train a grayscale ViT."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("dark", "light"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for index in range(12):
            level = 40 if label == "dark" else 200
            pixels = np.clip(rng.normal(level, 20, (10, 10, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "RGB").save(tmp_path / "images" / label / f"{index}.png")
    out = tmp_path / "vit-folder"
    run_main("vit", *TINY["vit"], "--train_dir", str(tmp_path / "images"), "--validation_split_percentage", "25",
             "--per_device_train_batch_size", "6", "--max_train_steps", "6", "--output_dir", str(out))
    config = json.loads((out / "config.json").read_text())
    assert len(config["id2label"]) == 2 and set(config["label2id"]) == {"dark", "light"}
    assert read_log(out, "eval")[-1]["step"] == 6


def test_clm_reads_local_files(tmp_path):
    """--train_file/--validation_file, with the column picked by --text_column_name, end to end (every file
    type is read by tests/training/data/test_sources.py::test_each_local_file_type_is_read)."""
    from pydoc_data.topics import topics

    import pandas as pd

    texts = [topics[name] for name in sorted(topics)][:26]  # 25 to train, 1 to validate
    frame = pd.DataFrame({"id": range(len(texts)), "body": texts})
    frame[:25].to_json(tmp_path / "train.jsonl", orient="records", lines=True)
    frame[25:].to_json(tmp_path / "valid.jsonl", orient="records", lines=True)
    out = tmp_path / "out"
    results = run_main("clm", *TINY["clm"], "--train_file", str(tmp_path / "train.jsonl"), "--validation_file",
                       str(tmp_path / "valid.jsonl"), "--text_column_name", "body", "--max_eval_samples", "1000",
                       "--max_train_steps", "2", "--output_dir", str(out))
    assert results["train_steps"] == 2 and results["eval_loss"] > 0


def test_clm_with_a_pretrained_config_tokenizer_and_a_dataset_by_name(tmp_path):
    """--config_name and --tokenizer_name (saved folders) and --dataset_name (here a local folder that datasets
    resolves like a hub dataset: train.jsonl + validation.jsonl) go through the same pipeline."""
    from pydoc_data.topics import topics

    import pandas as pd
    from datasets import Dataset
    from transformers import GPT2Config

    from idinit_hf.training.tokenization import train_bpe, wrap

    texts = [topics[name] for name in sorted(topics)][:12]
    (tmp_path / "data").mkdir()
    pd.DataFrame({"text": texts[:10]}).to_json(tmp_path / "data" / "train.jsonl", orient="records", lines=True)
    pd.DataFrame({"text": texts[10:11]}).to_json(tmp_path / "data" / "validation.jsonl", orient="records", lines=True)
    tokenizer = wrap(train_bpe(Dataset.from_dict({"text": texts}), "text", 280), "clm", 64)
    tokenizer.save_pretrained(tmp_path / "tok")

    GPT2Config(n_layer=1, n_embd=16, n_head=2, n_positions=32).save_pretrained(tmp_path / "config")

    out = tmp_path / "out"
    results = run_main(
        "clm", "--config_name", str(tmp_path / "config"), "--block_size", "32", "--dataset_name",
        str(tmp_path / "data"), "--tokenizer_name", str(tmp_path / "tok"), "--init_method", "idinit",
        "--max_train_steps", "2", "--output_dir", str(out))
    assert results["train_steps"] == 2
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] == len(tokenizer) and config["n_layer"] == 1 and config["init_method"] == "idinit"
