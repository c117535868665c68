"""Where the raw data comes from (idinit_hf/training/data/sources.py): the embedded defaults, local files of
every type, the validation split."""

from __future__ import annotations

import pytest

from idinit_hf.training.args import build_parser
from idinit_hf.training.data.sources import (
    data_format,
    embedded_text_documents,
    load_text_datasets,
)
from idinit_hf.training.data.text import load_text


def args_for(task: str, *flags: str):
    args = build_parser(task, "").parse_args(["--output_dir", "unused", *flags])
    args.task = task
    return args


def test_embedded_corpus_is_there_after_install():
    documents = embedded_text_documents()
    assert len(documents) > 50 and sum(map(len, documents)) > 400_000


@pytest.mark.parametrize("suffix", ["txt", "jsonl", "csv", "parquet"])
def test_each_local_file_type_is_read(tmp_path, suffix):
    """--train_file/--validation_file in each text format, the column picked by --text_column_name: every
    document of each file, in order (a .txt file is one document per line, line breaks kept)."""
    import pandas as pd

    texts = embedded_text_documents()[:26]  # 25 to train, 1 to validate
    if suffix == "txt":
        (tmp_path / "train.txt").write_text("\n".join(texts[:25]))
        (tmp_path / "valid.txt").write_text(texts[25])
        column = []
    else:
        frame = pd.DataFrame({"id": range(len(texts)), "body": texts})
        for name, part in (("train", frame[:25]), ("valid", frame[25:])):
            if suffix == "csv":
                part.to_csv(tmp_path / f"{name}.csv", index=False)
            elif suffix == "parquet":
                part.to_parquet(tmp_path / f"{name}.parquet", index=False)
            else:
                part.to_json(tmp_path / f"{name}.jsonl", orient="records", lines=True)
        column = ["--text_column_name", "body"]
    text = load_text(args_for("clm", "--train_file", str(tmp_path / f"train.{suffix}"), "--validation_file",
                              str(tmp_path / f"valid.{suffix}"), *column, "--max_eval_samples", "1000"))
    assert text.column == ("text" if suffix == "txt" else "body")
    assert text.source == f"{tmp_path / f'train.{suffix}'}, {tmp_path / f'valid.{suffix}'}"
    if suffix == "txt":
        assert "".join(text.train["text"]) == "\n".join(texts[:25]) and "".join(text.validation["text"]) == texts[25]
    else:
        assert text.train["body"] == texts[:25] and text.validation["body"] == texts[25:]


def test_the_held_out_split_depends_only_on_the_seed():
    """No validation split in the data: --validation_split_percentage of the rows, the same on every rank and
    after a resume (chosen by --seed)."""
    first, _ = load_text_datasets(args_for("clm", "--validation_split_percentage", "10"))
    again, _ = load_text_datasets(args_for("clm", "--validation_split_percentage", "10"))
    other, _ = load_text_datasets(args_for("clm", "--validation_split_percentage", "10", "--seed", "1"))
    assert len(first["validation"]) == 8 and len(first["train"]) == 71
    assert first["validation"]["text"] == again["validation"]["text"] != other["validation"]["text"]
    none, _ = load_text_datasets(args_for("clm", "--validation_split_percentage", "0"))
    assert list(none) == ["train"]


@pytest.mark.parametrize("name, builder", [("a.txt", "text"), ("a.JSONL", "json"), ("a.csv", "csv"),
                                           ("a.parquet", "parquet"), ("a.md", None)])
def test_the_builder_of_a_file_is_its_extension(name, builder):
    assert data_format(name) == builder
