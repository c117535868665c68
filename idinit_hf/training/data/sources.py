"""Where the raw data comes from: a hub dataset, local files, or the embedded default; read whole or as a stream.

Three sources, in this order of precedence, all through ``datasets`` so every path is the same afterwards:
a hub dataset (``--dataset_name``), local files (``--train_file``/``--train_dir``), or the embedded default that
exists after ``pip install`` (CPython's ``pydoc_data.topics`` reference texts for the language models,
``sklearn.datasets.load_digits()`` for ViT). Problems with the data raise
:class:`~idinit_hf.training.errors.BadInputError` before anything is trained.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from pydoc_data.topics import topics
from typing import Any

import numpy as np
from datasets import Dataset, DatasetDict, load_dataset
from PIL import Image

from ..errors import BadInputError, loading

EMBEDDED_TEXT = "pydoc_data.topics (CPython's reference texts)"
EMBEDDED_IMAGES = "sklearn.datasets.load_digits (8x8 grayscale digits)"


def data_format(path: str) -> str | None:
    """The ``datasets`` builder for a local data file, from its extension (None if unknown)."""
    suffix = Path(path).suffix.lower()
    return {".txt": "text", ".text": "text", ".json": "json", ".jsonl": "json", ".csv": "csv",
            ".parquet": "parquet"}.get(suffix)


def _builder_options(builder: str) -> dict[str, Any]:
    """Text files: one row per line, the line breaks kept so paragraphs survive concatenation into blocks."""
    return {"keep_linebreaks": True} if builder == "text" else {}


# ------------------------------------------------------------------------------------------ embedded defaults
def embedded_text_documents() -> list[str]:
    """CPython's ``pydoc_data.topics``: 79 reference texts (0.47 MB of English), sorted by topic for a fixed order."""
    return [topics[name] for name in sorted(topics)]


def embedded_digit_images() -> tuple[list[Any], list[int]]:
    """scikit-learn's 1 797 8x8 digits as grayscale PIL images (values 0..16 scaled to 0..255) and labels."""
    # imported here: scikit-learn takes a second to import and only the ViT script's default data needs it
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return [Image.fromarray(image, mode="L") for image in pixels], [int(label) for label in digits.target]


# ------------------------------------------------------------------------------------------------ read whole
def with_validation(raw, args: argparse.Namespace):
    """Ensure a ``validation`` split: keep the data's own, else hold out ``--validation_split_percentage``.

    The held-out part is chosen by ``--seed``, so every rank (and a resumed run) holds out the same rows.
    """
    if "train" not in raw:
        raise BadInputError(f"the dataset has no 'train' split (splits: {sorted(raw)})")
    if "validation" not in raw and "test" in raw:
        raw = DatasetDict({"train": raw["train"], "validation": raw["test"]})
    if "validation" not in raw:
        if args.validation_split_percentage == 0 or len(raw["train"]) < 2:
            return DatasetDict({"train": raw["train"]})
        split = raw["train"].train_test_split(test_size=args.validation_split_percentage / 100, seed=args.seed)
        raw = DatasetDict({"train": split["train"], "validation": split["test"]})
    raw = DatasetDict({"train": raw["train"], **({"validation": raw["validation"]} if "validation" in raw else {})})
    if args.max_train_samples:
        raw["train"] = raw["train"].select(range(min(args.max_train_samples, len(raw["train"]))))
    if args.max_eval_samples and "validation" in raw:
        raw["validation"] = raw["validation"].select(range(min(args.max_eval_samples, len(raw["validation"]))))
    if len(raw["train"]) == 0:
        raise BadInputError("the training data is empty")
    return raw


def load_text_datasets(args: argparse.Namespace):
    """The raw text ``DatasetDict`` (``train`` and, unless there is none, ``validation``) and a description."""
    if args.dataset_name:
        with loading("--dataset_name", args.dataset_name):
            raw = load_dataset(args.dataset_name, args.dataset_config_name)
        source = describe_dataset(args)
    elif args.train_file:
        files = {"train": args.train_file}
        if args.validation_file:
            check_same_format(args)
            files["validation"] = args.validation_file
        builder = data_format(args.train_file)
        try:
            raw = load_dataset(builder, data_files=files, **_builder_options(builder))
        except Exception as error:  # a malformed JSON/CSV/Parquet file: report it, do not crash with a trace
            raise BadInputError(read_error_message(files, builder, error)) from None
        source = ", ".join(files.values())
    else:
        raw = DatasetDict({"train": Dataset.from_dict({"text": embedded_text_documents()})})
        source = EMBEDDED_TEXT
    return with_validation(raw, args), source


def describe_dataset(args: argparse.Namespace) -> str:
    """``--dataset_name`` and its configuration, for the logs and the model card."""
    return args.dataset_name + (f" ({args.dataset_config_name})" if args.dataset_config_name else "")


def check_same_format(args: argparse.Namespace) -> None:
    if args.validation_file and data_format(args.validation_file) != data_format(args.train_file):
        raise BadInputError("--train_file and --validation_file must have the same file type")


def read_error_message(files: dict[str, str], builder: str, error: BaseException) -> str:
    """One line for a data file that ``datasets`` could not read. ``datasets`` wraps the cause in a generic
    "An error occurred while generating the dataset"; the cause (e.g. a file that is not UTF-8) is what helps."""
    names = ", ".join(files.values())
    cause = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__
        if isinstance(cause, UnicodeDecodeError):
            return (f"{names} is not UTF-8 text: byte 0x{cause.object[cause.start]:02x} at offset {cause.start} of a "
                    f"chunk cannot be decoded ({cause.reason}); convert the file to UTF-8, e.g. "
                    "iconv -f latin1 -t utf-8 in.txt > out.txt")
    detail = f"{error}" if cause is error else f"{error} ({type(cause).__name__}: {cause})"
    return f"could not read {names} as {builder}: {detail}"


def choose_text_column(columns: list[str], requested: str | None) -> str:
    """``--text_column_name`` (which must be one of ``columns``), else ``text``, else the first column."""
    if requested is None:
        return "text" if "text" in columns else columns[0]
    if requested not in columns:
        raise BadInputError(f"--text_column_name {requested!r} is not a column of the data; columns: {columns}")
    return requested


# ------------------------------------------------------------------------------------------------- as streams
def load_text_streams(args: argparse.Namespace):
    """``--streaming``: the training text as a ``datasets.IterableDataset`` (nothing read yet), the validation
    text as an in-memory ``Dataset`` or None, and a description.

    Validation comes only from a split the data has (``--validation_file``, or the hub dataset's ``validation``
    / ``test``), read whole (capped by ``--max_eval_samples``): holding out a percentage would need a pass over
    the stream. ``--max_train_samples`` keeps the first documents of the stream.
    """
    validation = None
    if args.dataset_name:
        with loading("--dataset_name", args.dataset_name):
            streams = load_dataset(args.dataset_name, args.dataset_config_name, streaming=True)
        if "train" not in streams:
            raise BadInputError(f"the dataset has no 'train' split (splits: {sorted(streams)})")
        train = streams["train"]
        validation = streams["validation"] if "validation" in streams else streams.get("test")
        source = describe_dataset(args)
    elif args.train_file:
        check_same_format(args)
        builder = data_format(args.train_file)
        train = load_dataset(builder, data_files={"train": args.train_file}, split="train", streaming=True,
                             **_builder_options(builder))
        if args.validation_file:
            validation = load_dataset(builder, data_files={"validation": args.validation_file}, split="validation",
                                      streaming=True, **_builder_options(builder))
        source = ", ".join(filter(None, (args.train_file, args.validation_file)))
    else:
        train = Dataset.from_dict({"text": embedded_text_documents()}).to_iterable_dataset()
        source = EMBEDDED_TEXT
    if args.max_train_samples:
        train = train.take(args.max_train_samples)
    if validation is not None:
        if args.max_eval_samples:
            validation = validation.take(args.max_eval_samples)
        rows = read_stream(validation, args.validation_file or args.dataset_name or "the validation data",
                           data_format(args.validation_file) if args.validation_file else "dataset")
        validation = Dataset.from_list(rows) if rows else None
    return train, validation, source


def read_stream(stream, name: str, builder: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` rows of ``stream`` (all if None); a file that cannot be read becomes one
    :class:`BadInputError` (a stream reads, and fails, only when iterated)."""
    try:
        return list(itertools.islice(stream, limit))
    except BadInputError:
        raise
    except Exception as error:
        raise BadInputError(read_error_message({"data": name}, builder, error)) from None
