"""Data for the pretraining scripts: where it comes from, and how it becomes batches.

Three sources, in this order of precedence, all through ``datasets`` so every path is the same afterwards:
a hub dataset (``--dataset_name``), local files (``--train_file``/``--train_dir``), or the embedded default that
exists after ``pip install`` (CPython's ``pydoc_data.topics`` reference texts for the language models,
``sklearn.datasets.load_digits()`` for ViT). Problems with the data raise
:class:`~idinit_hf.training.errors.BadInputError` before anything is trained.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
from typing import Any

from .args import data_format
from .errors import BadInputError, loading

EMBEDDED_TEXT = "pydoc_data.topics (CPython's reference texts)"
EMBEDDED_IMAGES = "sklearn.datasets.load_digits (8x8 grayscale digits)"


# ----------------------------------------------------------------------------------------------- raw datasets
def embedded_text_documents() -> list[str]:
    """CPython's ``pydoc_data.topics``: 79 reference texts (0.47 MB of English), sorted by topic for a fixed order."""
    from pydoc_data.topics import topics

    return [topics[name] for name in sorted(topics)]


def embedded_digit_images() -> tuple[list[Any], list[int]]:
    """scikit-learn's 1 797 8x8 digits as grayscale PIL images (values 0..16 scaled to 0..255) and labels."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return [Image.fromarray(image, mode="L") for image in pixels], [int(label) for label in digits.target]


def _with_validation(raw, args: argparse.Namespace):
    """Ensure a ``validation`` split: keep the data's own, else hold out ``--validation_split_percentage``.

    The held-out part is chosen by ``--seed``, so every rank (and a resumed run) holds out the same rows.
    """
    from datasets import DatasetDict

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
    from datasets import Dataset, DatasetDict, load_dataset

    if args.dataset_name:
        with loading("--dataset_name", args.dataset_name):
            raw = load_dataset(args.dataset_name, args.dataset_config_name)
        source = args.dataset_name + (f" ({args.dataset_config_name})" if args.dataset_config_name else "")
    elif args.train_file:
        files = {"train": args.train_file}
        if args.validation_file:
            if data_format(args.validation_file) != data_format(args.train_file):
                raise BadInputError("--train_file and --validation_file must have the same file type")
            files["validation"] = args.validation_file
        builder = data_format(args.train_file)
        # text files: one row per line; keep the line breaks so paragraphs survive concatenation into blocks
        extra = {"keep_linebreaks": True} if builder == "text" else {}
        try:
            raw = load_dataset(builder, data_files=files, **extra)
        except Exception as error:  # a malformed JSON/CSV/Parquet file: report it, do not crash with a trace
            raise BadInputError(read_error_message(files, builder, error)) from None
        source = ", ".join(files.values())
    else:
        raw = DatasetDict({"train": Dataset.from_dict({"text": embedded_text_documents()})})
        source = EMBEDDED_TEXT
    return _with_validation(raw, args), source


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


def text_column(raw, requested: str | None) -> str:
    """The text column: ``--text_column_name``, else ``text``, else the first column; it must hold strings."""
    columns = raw["train"].column_names
    if requested is not None:
        if requested not in columns:
            raise BadInputError(f"--text_column_name {requested!r} is not a column of the data; columns: {columns}")
        name = requested
    else:
        name = "text" if "text" in columns else columns[0]
    feature = raw["train"].features[name]
    if getattr(feature, "dtype", None) not in ("string", "large_string"):
        raise BadInputError(f"column {name!r} does not hold text (type {feature}); pick one with --text_column_name")
    for split in raw.values():
        if name not in split.column_names:
            raise BadInputError(f"the validation data has no column {name!r}")
    return name


def load_image_datasets(args: argparse.Namespace):
    """The raw image ``DatasetDict`` (``train``, maybe ``validation``), the label names, and a description."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, load_dataset

    if args.dataset_name:
        with loading("--dataset_name", args.dataset_name):
            raw = load_dataset(args.dataset_name, args.dataset_config_name)
        source = args.dataset_name
    elif args.train_dir:
        with loading("--train_dir", args.train_dir):
            raw = DatasetDict({"train": load_dataset("imagefolder", data_dir=args.train_dir, split="train")})
        if args.validation_dir:
            with loading("--validation_dir", args.validation_dir):
                raw["validation"] = load_dataset("imagefolder", data_dir=args.validation_dir, split="train")
        for split, flag in (("train", "--train_dir"), ("validation", "--validation_dir")):
            if split in raw and args.image_column_name in raw[split].column_names:
                check_image_files(raw[split], args.image_column_name, flag)
        source = args.train_dir + (f", {args.validation_dir}" if args.validation_dir else "")
    else:
        images, labels = embedded_digit_images()
        features = Features({"image": Image(), "label": ClassLabel(names=[str(d) for d in range(10)])})
        raw = DatasetDict({"train": Dataset.from_dict({"image": images, "label": labels}, features=features)})
        source = EMBEDDED_IMAGES
    for name, flag in ((args.image_column_name, "--image_column_name"), (args.label_column_name, "--label_column_name")):
        for split in raw.values():
            if name not in split.column_names:
                raise BadInputError(f"{flag} {name!r} is not a column of the data; columns: {split.column_names}")
    names = label_names(raw, args.label_column_name)
    return _with_validation(raw, args), names, source


def check_image_files(data, column: str, flag: str) -> None:
    """Open every image of a local folder once (its header: ``PIL.Image.verify``), so that a file that is not an
    image is reported with its path now, not as a traceback in the middle of training. Sizes and modes may be
    mixed: :func:`image_transform` converts and the image processor resizes."""
    import datasets
    from PIL import Image

    for item in data.cast_column(column, datasets.Image(decode=False))[column]:
        try:
            with Image.open(item["path"] if item["bytes"] is None else io.BytesIO(item["bytes"])) as image:
                image.verify()
        except Exception as error:  # PIL raises several types for a broken file
            raise BadInputError(f"{flag}: {item['path']} is not a readable image ({error})") from None


def label_names(raw, column: str) -> list[str]:
    """The class names, one per label index. A ``ClassLabel`` column brings its names; plain integer labels are
    named by value, ``0 .. max`` (a label is the index of its logit, so values are never renumbered). Every
    split's labels must be integers in ``[0, number of classes)``: checked here, once, rather than met as an
    index error in the middle of training."""
    feature = raw["train"].features[column]
    names = getattr(feature, "names", None)
    values = {split: set(data[column]) for split, data in raw.items()}
    if not values["train"]:
        raise BadInputError("the training data is empty")
    seen = set().union(*values.values())
    if any(not isinstance(v, int) or isinstance(v, bool) for v in seen):
        kinds = sorted({type(v).__name__ for v in seen})
        raise BadInputError(f"--label_column_name {column!r} holds {', '.join(kinds)} values; labels must be "
                            "integers 0..num_classes-1 or a datasets ClassLabel")
    if names is None:
        names = [str(v) for v in range(max(seen) + 1)]
    for split, found in values.items():
        bad = sorted(v for v in found if not 0 <= v < len(names))
        if bad:
            raise BadInputError(f"label {bad[0]} in the {split} data is out of range: labels must be in "
                                f"[0, {len(names)}) for the {len(names)} classes {names[:10]}"
                                f"{' ...' if len(names) > 10 else ''}")
    if len(names) < 2:
        raise BadInputError(f"the training data has {len(names)} class(es); classification needs at least 2")
    return list(names)


# --------------------------------------------------------------------------------------------- text → blocks
def tokenize_and_group(raw, tokenizer, column: str, block_size: int, args: argparse.Namespace, *, add_eos: bool,
                       special_tokens_mask: bool):
    """Tokenize every document (``datasets.map``, cached) and cut the concatenation into ``block_size`` blocks.

    For causal LM an end-of-text token separates the documents (``add_eos``); labels are the inputs (the model
    shifts them). For masked LM the special-token mask rides along so the collator never masks [CLS]/[SEP].
    The tail shorter than one block is dropped, as in the HF scripts.
    """
    eos = tokenizer.eos_token_id if add_eos else None

    def tokenize(batch):
        encoded = tokenizer(batch[column], return_special_tokens_mask=special_tokens_mask, verbose=False)
        if eos is not None:
            encoded["input_ids"] = [ids + [eos] for ids in encoded["input_ids"]]
            encoded["attention_mask"] = [mask + [1] for mask in encoded["attention_mask"]]
        return encoded

    def group(batch):
        keys = [k for k in batch if k != "token_type_ids"]
        joined = {k: list(itertools.chain.from_iterable(batch[k])) for k in keys}
        usable = len(joined["input_ids"]) // block_size * block_size
        blocks = {k: [v[i:i + block_size] for i in range(0, usable, block_size)] for k, v in joined.items()}
        if add_eos:
            blocks["labels"] = [list(ids) for ids in blocks["input_ids"]]
        return blocks

    cache = not args.overwrite_cache
    tokenized = raw.map(tokenize, batched=True, num_proc=args.preprocessing_num_workers,
                        remove_columns=raw["train"].column_names, load_from_cache_file=cache,
                        desc="tokenizing")
    grouped = tokenized.map(group, batched=True, batch_size=1000, num_proc=args.preprocessing_num_workers,
                            remove_columns=tokenized["train"].column_names, load_from_cache_file=cache,
                            desc=f"grouping into blocks of {block_size}")
    for split, data in grouped.items():
        if len(data) == 0:
            raise BadInputError(f"the {split} data has fewer tokens than one block of --block_size {block_size}")
    return grouped


def check_block_size(requested: int | None, context_length: int) -> int:
    """``--block_size``, or min(context length, 1024); above the model's context length it is an error."""
    if requested is None:
        return min(context_length, 1024)
    if requested > context_length:
        raise BadInputError(f"--block_size {requested} is above the model's context length {context_length} "
                            "(n_positions / max_position_embeddings); lower it or raise the context length with "
                            "--config_overrides")
    return requested


class SeededMaskingCollator:
    """The standard ``DataCollatorForLanguageModeling``, with masks that are a pure function of the batch.

    The stock collator draws masks from the global torch RNG. accelerate's data loader fetches one batch ahead,
    so the RNG state saved in a checkpoint already includes the next batch's draw, and a resumed run would mask
    differently from the uninterrupted one. Seeding the collator's own generator from (seed, epoch, batch
    content) makes masking independent of any hidden state: resume is exact and evaluation masks are fixed.
    """

    def __init__(self, tokenizer, mlm_probability: float, seed: int):
        from transformers import DataCollatorForLanguageModeling

        # seed=None: with a seed the stock collator re-creates its generator on first use, replacing ours;
        # without one it draws from whatever ``generator`` holds, which we set per batch.
        self.collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability)
        self.seed = seed
        self.epoch = 0

    def __call__(self, examples):
        import torch

        digest = hashlib.blake2b(digest_size=8)
        digest.update(f"{self.seed}/{self.epoch}".encode())
        for example in examples:
            digest.update(torch.as_tensor(example["input_ids"]).numpy().tobytes())
        self.collator.generator = torch.Generator().manual_seed(int.from_bytes(digest.digest(), "little") >> 1)
        return self.collator(examples)


# ------------------------------------------------------------------------------------------ images → tensors
def image_transform(processor, num_channels: int, image_column: str, label_column: str):
    """A batch transform for ``Dataset.with_transform``: PIL images → normalized ``pixel_values``, labels.

    Images are converted to the model's channel count first (grayscale ↔ RGB), so a grayscale set trains an
    RGB ViT and vice versa. Deterministic (no augmentation), which keeps resumed runs exact.
    """
    mode = {1: "L", 3: "RGB"}[num_channels]

    def transform(batch):
        images = [image.convert(mode) for image in batch[image_column]]
        pixels = processor(images, return_tensors="pt")["pixel_values"]
        return {"pixel_values": pixels, "labels": batch[label_column]}

    return transform


def image_processor_for(args: argparse.Namespace, config):
    """``--image_processor_name``, else a standard ``ViTImageProcessor`` sized for the config.

    The PIL backend is used because transformers' default ViT processor backend needs torchvision.
    """
    from transformers import AutoImageProcessor

    if args.image_processor_name:
        with loading("--image_processor_name", args.image_processor_name):
            return AutoImageProcessor.from_pretrained(args.image_processor_name)
    try:
        from transformers import ViTImageProcessorPil as Processor
    except ImportError:  # older transformers: the PIL processor is ViTImageProcessor itself
        from transformers import ViTImageProcessor as Processor
    size = config.image_size
    return Processor(size={"height": size, "width": size}, image_mean=[0.5] * config.num_channels,
                     image_std=[0.5] * config.num_channels)


def collate_images(examples):
    """Stack ``pixel_values`` and ``labels`` of single examples (what ``with_transform`` yields per row)."""
    import torch

    return {"pixel_values": torch.stack([e["pixel_values"] for e in examples]),
            "labels": torch.tensor([e["labels"] for e in examples])}
