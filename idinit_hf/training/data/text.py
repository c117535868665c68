"""Text → training blocks: the text column, tokenizing and packing documents into blocks, the masking collator,
and the text of a run, read whole or streamed.

Text is read either whole (:class:`InMemoryText`: a ``Dataset``, tokenized and grouped with cached
``datasets.map`` before step 1, :func:`tokenize_and_group`) or, with ``--streaming``, as a
``datasets.IterableDataset`` that each process reads its own shard of (:class:`StreamedText`), tokenized and
packed on the fly by :class:`~idinit_hf.training.data.stream.PackedTextStream`. Both cut blocks with the same
functions over the same chunks of :data:`GROUP_DOCUMENTS` documents, so on one process they yield the same
blocks in the same order. Either way the training blocks become the
:class:`~idinit_hf.training.data.train_data.TrainData` the loop reads, and the validation blocks are grouped in
memory.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import torch
from datasets import DatasetDict
from transformers import DataCollatorForLanguageModeling

from ..errors import BadInputError
from .sources import choose_text_column, load_text_datasets, load_text_streams
from .stream import PackedTextStream, StreamedData, rank_shard, stream_text_column, tokenizer_sample
from .train_data import InMemoryData, TrainData

#: Documents per packing chunk: their tokens are concatenated and cut into blocks, the chunk's tail shorter than
#: one block is dropped (``datasets.map(batched=True)``'s default batch, as in the HF scripts).
GROUP_DOCUMENTS = 1000


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


# ----------------------------------------------------------------------------------------------- packing
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


def describe_blocks(train_data: TrainData, block_size: int) -> str:
    """``"1234 training blocks of 128 tokens"``, or ``"streamed training blocks of 128 tokens"``."""
    size = train_data.size()
    return f"{'streamed' if size is None else size} training blocks of {block_size} tokens"


class SeededMaskingCollator:
    """The standard ``DataCollatorForLanguageModeling``, with masks that are a pure function of the batch.

    The stock collator draws masks from the global torch RNG. accelerate's data loader fetches one batch ahead,
    so the RNG state saved in a checkpoint already includes the next batch's draw, and a resumed run would mask
    differently from the uninterrupted one. Seeding the collator's own generator from (seed, epoch, batch
    content) makes masking independent of any hidden state: resume is exact and evaluation masks are fixed.
    """

    def __init__(self, tokenizer, mlm_probability: float, seed: int):
        # seed=None: with a seed the stock collator re-creates its generator on first use, replacing ours;
        # without one it draws from whatever ``generator`` holds, which we set per batch.
        self.collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability)
        self.seed = seed
        self.epoch = 0

    def __call__(self, examples):
        digest = hashlib.blake2b(digest_size=8)
        digest.update(f"{self.seed}/{self.epoch}".encode())
        for example in examples:
            digest.update(torch.as_tensor(example["input_ids"]).numpy().tobytes())
        self.collator.generator = torch.Generator().manual_seed(int.from_bytes(digest.digest(), "little") >> 1)
        return self.collator(examples)


# ------------------------------------------------------------------------------------------ the text of a run
@dataclass
class InMemoryText:
    """The text of a run read whole: training and validation documents (``Dataset``\\ s), the text column and a
    description of the source."""

    train: Any
    validation: Any | None
    column: str
    source: str

    def tokenizer_corpus(self):
        """What a tokenizer is trained on: the training split."""
        return self.train

    def blocks(self, tokenizer, block_size: int, args: argparse.Namespace, state, *, add_eos: bool,
               special_tokens_mask: bool) -> tuple[InMemoryData, Any | None]:
        """``(training data, validation blocks or None)``: both grouped in memory with cached ``datasets.map``."""
        splits = {"train": self.train, **({"validation": self.validation} if self.validation is not None else {})}
        grouped = tokenize_and_group(DatasetDict(splits), tokenizer, self.column, block_size, args, add_eos=add_eos,
                                     special_tokens_mask=special_tokens_mask)
        return InMemoryData(grouped["train"]), grouped.get("validation")


@dataclass
class StreamedText:
    """The text of a ``--streaming`` run: training documents as a ``datasets.IterableDataset`` not read yet, the
    validation documents (a ``Dataset`` or None), the text column and a description of the source."""

    train: Any
    validation: Any | None
    column: str
    source: str

    def tokenizer_corpus(self):
        """What a tokenizer is trained on: the first :data:`~.stream.TOKENIZER_DOCUMENTS` of the stream (read
        only when a tokenizer is trained, on the main process)."""
        return tokenizer_sample(self.train, self.column, self.source, "text")

    def blocks(self, tokenizer, block_size: int, args: argparse.Namespace, state, *, add_eos: bool,
               special_tokens_mask: bool) -> tuple[StreamedData, Any | None]:
        """``(training data, validation blocks or None)``: this process's packed stream over its shard; the
        validation blocks grouped in memory."""
        validation = None
        if self.validation is not None:
            validation = tokenize_and_group(DatasetDict({"validation": self.validation}), tokenizer, self.column,
                                            block_size, args, add_eos=add_eos,
                                            special_tokens_mask=special_tokens_mask)["validation"]
        stream = PackedTextStream(rank_shard(self.train, state.process_index, state.num_processes),
                                  tokenize_function(tokenizer, self.column, add_eos=add_eos,
                                                    special_tokens_mask=special_tokens_mask),
                                  group_function(block_size, add_eos=add_eos), GROUP_DOCUMENTS)
        return StreamedData(stream), validation


def load_text(args: argparse.Namespace) -> InMemoryText | StreamedText:
    """The text of the run, read whole or (``--streaming``) as a stream, and its text column."""
    if getattr(args, "streaming", False):
        train, validation, source = load_text_streams(args)
        column = stream_text_column(train, args.text_column_name, source)
        if validation is not None and column not in validation.column_names:
            raise BadInputError(f"the validation data has no column {column!r}")
        return StreamedText(train, validation, column, source)
    raw, source = load_text_datasets(args)
    column = text_column(raw, args.text_column_name)
    return InMemoryText(raw["train"], raw.get("validation"), column, source)
