"""Data for the pretraining scripts: where it comes from, and how it becomes batches.

Three sources, in this order of precedence, all through ``datasets`` so every path is the same afterwards:
a hub dataset (``--dataset_name``), local files (``--train_file``/``--train_dir``), or the embedded default that
exists after ``pip install`` (CPython's ``pydoc_data.topics`` reference texts for the language models,
``sklearn.datasets.load_digits()`` for ViT). Problems with the data raise
:class:`~idinit_hf.training.errors.BadInputError` before anything is trained.

Text is read either whole (a ``DatasetDict``, tokenized and grouped with cached ``datasets.map`` before step 1:
:func:`tokenize_and_group`) or, with ``--streaming``, as a ``datasets.IterableDataset`` that each process reads
its own shard of, tokenized and packed on the fly (:class:`PackedTextStream`). Both cut blocks with the same
functions over the same chunks of :data:`GROUP_DOCUMENTS` documents, so on one process they yield the same
blocks in the same order.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
from dataclasses import dataclass
from typing import Any

from torch.utils.data import IterableDataset

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


def choose_text_column(columns: list[str], requested: str | None) -> str:
    """``--text_column_name`` (which must be one of ``columns``), else ``text``, else the first column."""
    if requested is None:
        return "text" if "text" in columns else columns[0]
    if requested not in columns:
        raise BadInputError(f"--text_column_name {requested!r} is not a column of the data; columns: {columns}")
    return requested


def text_column(raw, requested: str | None) -> str:
    """The text column: ``--text_column_name``, else ``text``, else the first column; it must hold strings."""
    name = choose_text_column(raw["train"].column_names, requested)
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
#: Documents per packing chunk: their tokens are concatenated and cut into blocks, the chunk's tail shorter than
#: one block is dropped (``datasets.map(batched=True)``'s default batch, as in the HF scripts).
GROUP_DOCUMENTS = 1000


def tokenize_function(tokenizer, column: str, *, add_eos: bool, special_tokens_mask: bool):
    """``batch of documents → batch of token lists`` (CLM: an end-of-text token after each document)."""
    eos = tokenizer.eos_token_id if add_eos else None

    def tokenize(batch):
        encoded = tokenizer(batch[column], return_special_tokens_mask=special_tokens_mask, verbose=False)
        if eos is not None:
            encoded["input_ids"] = [ids + [eos] for ids in encoded["input_ids"]]
            encoded["attention_mask"] = [mask + [1] for mask in encoded["attention_mask"]]
        return encoded

    return tokenize


def group_function(block_size: int, *, add_eos: bool):
    """``batch of token lists → blocks of block_size`` (CLM: labels = inputs); the tail is dropped."""

    def group(batch):
        keys = [k for k in batch if k != "token_type_ids"]
        joined = {k: list(itertools.chain.from_iterable(batch[k])) for k in keys}
        usable = len(joined["input_ids"]) // block_size * block_size
        blocks = {k: [v[i:i + block_size] for i in range(0, usable, block_size)] for k, v in joined.items()}
        if add_eos:
            blocks["labels"] = [list(ids) for ids in blocks["input_ids"]]
        return blocks

    return group


def tokenize_and_group(raw, tokenizer, column: str, block_size: int, args: argparse.Namespace, *, add_eos: bool,
                       special_tokens_mask: bool):
    """Tokenize every document (``datasets.map``, cached) and cut the concatenation into ``block_size`` blocks.

    For causal LM an end-of-text token separates the documents (``add_eos``); labels are the inputs (the model
    shifts them). For masked LM the special-token mask rides along so the collator never masks [CLS]/[SEP].
    The tail shorter than one block is dropped per chunk of :data:`GROUP_DOCUMENTS` documents, as in the HF
    scripts.
    """
    tokenize = tokenize_function(tokenizer, column, add_eos=add_eos, special_tokens_mask=special_tokens_mask)
    group = group_function(block_size, add_eos=add_eos)
    cache = not args.overwrite_cache
    first = next(iter(raw.values()))
    tokenized = raw.map(tokenize, batched=True, num_proc=args.preprocessing_num_workers,
                        remove_columns=first.column_names, load_from_cache_file=cache,
                        desc="tokenizing")
    grouped = tokenized.map(group, batched=True, batch_size=GROUP_DOCUMENTS, num_proc=args.preprocessing_num_workers,
                            remove_columns=next(iter(tokenized.values())).column_names, load_from_cache_file=cache,
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


# ----------------------------------------------------------------------------------------- text as a stream
#: ``--streaming`` without ``--tokenizer_name``: the tokenizer is trained on this many first documents.
TOKENIZER_DOCUMENTS = 10_000


def load_text_streams(args: argparse.Namespace):
    """``--streaming``: the training text as a ``datasets.IterableDataset`` (nothing read yet), the validation
    text as an in-memory ``Dataset`` or None, and a description.

    Validation comes only from a split the data has (``--validation_file``, or the hub dataset's ``validation``
    / ``test``), read whole (capped by ``--max_eval_samples``): holding out a percentage would need a pass over
    the stream. ``--max_train_samples`` keeps the first documents of the stream.
    """
    from datasets import Dataset, load_dataset

    validation = None
    if args.dataset_name:
        with loading("--dataset_name", args.dataset_name):
            streams = load_dataset(args.dataset_name, args.dataset_config_name, streaming=True)
        if "train" not in streams:
            raise BadInputError(f"the dataset has no 'train' split (splits: {sorted(streams)})")
        train = streams["train"]
        validation = streams["validation"] if "validation" in streams else streams.get("test")
        source = args.dataset_name + (f" ({args.dataset_config_name})" if args.dataset_config_name else "")
    elif args.train_file:
        if args.validation_file and data_format(args.validation_file) != data_format(args.train_file):
            raise BadInputError("--train_file and --validation_file must have the same file type")
        builder = data_format(args.train_file)
        extra = {"keep_linebreaks": True} if builder == "text" else {}
        train = load_dataset(builder, data_files={"train": args.train_file}, split="train", streaming=True, **extra)
        if args.validation_file:
            validation = load_dataset(builder, data_files={"validation": args.validation_file}, split="validation",
                                      streaming=True, **extra)
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


def stream_text_column(stream, requested: str | None, name: str = "the training data", builder: str = "text") -> str:
    """:func:`text_column` for a stream: the columns and types are read from its first row."""
    first = read_stream(stream, name, builder, limit=1)
    if not first:
        raise BadInputError("the training data is empty")
    column = choose_text_column(list(first[0]), requested)
    if not isinstance(first[0][column], str):
        raise BadInputError(f"column {column!r} does not hold text (first value {first[0][column]!r}); pick one "
                            "with --text_column_name")
    return column


def tokenizer_sample(stream, column: str, name: str, builder: str):
    """The first :data:`TOKENIZER_DOCUMENTS` documents of the stream, as a ``Dataset`` to train a tokenizer on."""
    from datasets import Dataset

    rows = read_stream(stream, name, builder, limit=TOKENIZER_DOCUMENTS)
    return Dataset.from_dict({column: [row[column] for row in rows]})


def rank_shard(stream, rank: int, num_processes: int):
    """This process's part of the stream (``datasets.distributed.split_dataset_by_node``): whole files when the
    number of files is a multiple of the number of processes, else every ``num_processes``-th document starting
    at ``rank``. The shards are disjoint and together cover the stream."""
    if num_processes == 1:
        return stream
    from datasets.distributed import split_dataset_by_node

    return split_dataset_by_node(stream, rank=rank, world_size=num_processes)


class PackedTextStream(IterableDataset):
    """One process's training blocks, made on the fly from its shard of documents (``--streaming``).

    Documents are read :data:`GROUP_DOCUMENTS` at a time, tokenized and cut into ``block_size`` blocks by the
    same functions as :func:`tokenize_and_group`, so one process sees exactly the blocks of the in-memory path,
    in order. There is no shuffling. At the end of the shard a new pass starts (``epoch`` + 1).

    The position, :meth:`state`, is ``{"epoch", "documents", "blocks"}``: the pass, the documents of the shard
    read before the current chunk, and the blocks already handed out from that chunk. It is exact at any
    moment, because blocks are produced only when asked for (a ``DataLoader`` with no workers). A resume
    (:meth:`load_state`) skips the documents without tokenizing them, then the blocks of the chunk.
    """

    def __init__(self, documents, tokenize, group, chunk_documents: int = GROUP_DOCUMENTS):
        self.documents, self.tokenize, self.group = documents, tokenize, group
        self.chunk_documents = chunk_documents
        self.position = {"epoch": 0, "documents": 0, "blocks": 0}

    def state(self) -> dict[str, int]:
        return dict(self.position)

    def load_state(self, state: dict[str, int]) -> None:
        self.position = {key: int(state[key]) for key in ("epoch", "documents", "blocks")}

    def chunks(self, skip_documents: int):
        """Lists of up to ``chunk_documents`` documents of the shard, after the first ``skip_documents``."""
        documents = iter(self.documents.skip(skip_documents) if skip_documents else self.documents)
        while chunk := list(itertools.islice(documents, self.chunk_documents)):
            yield chunk

    def blocks(self, chunk: list[dict[str, Any]]) -> list[dict[str, list[int]]]:
        """The blocks of one chunk of documents, as rows."""
        grouped = self.group(self.tokenize({key: [row[key] for row in chunk] for key in chunk[0]}))
        return [dict(zip(grouped, values, strict=True)) for values in zip(*grouped.values(), strict=True)]

    def __iter__(self):
        position = self.position
        epoch, done, skip = position["epoch"], position["documents"], position["blocks"]
        while True:
            handed_out, whole_pass = False, done == 0 and skip == 0
            for chunk in self.chunks(done):
                for index, block in enumerate(self.blocks(chunk)[skip:], start=skip + 1):
                    self.position = {"epoch": epoch, "documents": done, "blocks": index}
                    handed_out = True
                    yield block
                done, skip = done + len(chunk), 0
            if whole_pass and not handed_out:
                raise BadInputError("the training stream has fewer tokens than one block of --block_size")
            epoch, done, skip = epoch + 1, 0, 0
            self.position = {"epoch": epoch, "documents": 0, "blocks": 0}


def streamed_blocks(stream, tokenizer, column: str, block_size: int, rank: int, num_processes: int, *,
                    add_eos: bool, special_tokens_mask: bool) -> PackedTextStream:
    """This process's :class:`PackedTextStream` over its shard of ``stream``."""
    return PackedTextStream(rank_shard(stream, rank, num_processes),
                            tokenize_function(tokenizer, column, add_eos=add_eos,
                                              special_tokens_mask=special_tokens_mask),
                            group_function(block_size, add_eos=add_eos))


def check_blocks(train_blocks, state) -> None:
    """Every process has at least one training block (a stream is checked by making its first block; map-style
    data was checked when it was grouped). Gathered, so all processes stop together; call outside
    ``main_process_first``."""
    if not isinstance(train_blocks, PackedTextStream):
        return
    saved = train_blocks.state()
    try:
        next(iter(train_blocks))
        problem = None
    except BadInputError as error:
        problem = str(error)
    train_blocks.load_state(saved)
    if state.num_processes > 1:
        from accelerate.utils import gather_object

        problems = gather_object([problem])
    else:
        problems = [problem]
    for rank, found in enumerate(problems):
        if found:
            where = f" (the shard of process {rank})" if state.num_processes > 1 else ""
            raise BadInputError(found + where)


@dataclass
class TextData:
    """The text of a language-model run: training documents (a ``Dataset``, or with ``--streaming`` a
    ``datasets.IterableDataset`` not read yet), validation documents (a ``Dataset`` or None), the text column
    and a description of the source."""

    train: Any
    validation: Any | None
    column: str
    source: str
    streaming: bool

    def tokenizer_corpus(self):
        """What a tokenizer is trained on: the training split, or the first :data:`TOKENIZER_DOCUMENTS` of the
        stream (read only when a tokenizer is trained, on the main process)."""
        if not self.streaming:
            return self.train
        return tokenizer_sample(self.train, self.column, self.source, "text")

    def blocks(self, tokenizer, block_size: int, args: argparse.Namespace, state, *, add_eos: bool,
               special_tokens_mask: bool):
        """``(training blocks, validation blocks or None)``: the training blocks are a ``Dataset``, or this
        process's :class:`PackedTextStream`; validation blocks are always grouped in memory."""
        from datasets import DatasetDict

        splits = {} if self.streaming else {"train": self.train}
        if self.validation is not None:
            splits["validation"] = self.validation
        grouped = tokenize_and_group(DatasetDict(splits), tokenizer, self.column, block_size, args, add_eos=add_eos,
                                     special_tokens_mask=special_tokens_mask) if splits else {}
        if not self.streaming:
            return grouped["train"], grouped.get("validation")
        train = streamed_blocks(self.train, tokenizer, self.column, block_size, state.process_index,
                                state.num_processes, add_eos=add_eos, special_tokens_mask=special_tokens_mask)
        return train, grouped.get("validation")


def load_text(args: argparse.Namespace) -> TextData:
    """The text of the run, read whole or (``--streaming``) as a stream, and its text column."""
    if getattr(args, "streaming", False):
        train, validation, source = load_text_streams(args)
        column = stream_text_column(train, args.text_column_name, source)
        if validation is not None and column not in validation.column_names:
            raise BadInputError(f"the validation data has no column {column!r}")
        return TextData(train, validation, column, source, streaming=True)
    raw, source = load_text_datasets(args)
    column = text_column(raw, args.text_column_name)
    return TextData(raw["train"], raw.get("validation"), column, source, streaming=False)


def describe_blocks(train_blocks, block_size: int) -> str:
    """``"1234 training blocks of 128 tokens"``, or ``"streamed training blocks of 128 tokens"``."""
    if isinstance(train_blocks, PackedTextStream):
        return f"streamed training blocks of {block_size} tokens"
    return f"{len(train_blocks)} training blocks of {block_size} tokens"
