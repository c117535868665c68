"""``--streaming``: each process's shard of the documents, tokenized and packed on the fly, with a position that a
checkpoint records and a resume continues from exactly.

:class:`PackedTextStream` is one process's blocks (a torch ``IterableDataset``); :class:`StreamedData` is the
:class:`~idinit_hf.training.data.train_data.TrainData` the loop reads: the stream's loader (never prepared by
accelerate, which would make every process read the whole stream), the run as long as ``--max_train_steps``,
and every process's position in ``run_state.json``.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from accelerate.utils import gather_object
from datasets import Dataset
from datasets.distributed import split_dataset_by_node
from torch.utils.data import IterableDataset

from ..errors import BadInputError
from .sources import choose_text_column, read_stream
from .train_data import StepPlan, seeded_loader

#: ``--streaming`` without ``--tokenizer_name``: the tokenizer is trained on this many first documents.
TOKENIZER_DOCUMENTS = 10_000


def stream_text_column(stream, requested: str | None, name: str = "the training data", builder: str = "text") -> str:
    """The text column of a stream (as :func:`~idinit_hf.training.data.text.text_column`): the columns and types
    are read from its first row."""
    first = read_stream(stream, name, builder, limit=1)
    if not first:
        raise BadInputError("the training data is empty")
    column = choose_text_column(list(first[0]), requested)
    if not isinstance(first[0][column], str):
        raise BadInputError(f"column {column!r} does not hold text (first value {first[0][column]!r}); pick one "
                            "with --text_column_name")
    return column


def tokenizer_sample(stream, column: str, name: str, builder: str) -> Dataset:
    """The first :data:`TOKENIZER_DOCUMENTS` documents of the stream, as a ``Dataset`` to train a tokenizer on."""
    rows = read_stream(stream, name, builder, limit=TOKENIZER_DOCUMENTS)
    return Dataset.from_dict({column: [row[column] for row in rows]})


def rank_shard(stream, rank: int, num_processes: int):
    """This process's part of the stream (``datasets.distributed.split_dataset_by_node``): whole files when the
    number of files is a multiple of the number of processes, else every ``num_processes``-th document starting
    at ``rank``. The shards are disjoint and together cover the stream."""
    if num_processes == 1:
        return stream
    return split_dataset_by_node(stream, rank=rank, world_size=num_processes)


class PackedTextStream(IterableDataset):
    """One process's training blocks, made on the fly from its shard of documents.

    Documents are read ``chunk_documents`` at a time, tokenized and cut into blocks by ``tokenize`` and ``group``
    (the functions of the in-memory path, :func:`~idinit_hf.training.data.text.tokenize_and_group`, with the same
    chunk), so one process sees exactly the blocks of the in-memory path, in order. There is no shuffling. At the
    end of the shard a new pass starts (``epoch`` + 1).

    The position, :meth:`state`, is ``{"epoch", "documents", "blocks"}``: the pass, the documents of the shard
    read before the current chunk, and the blocks already handed out from that chunk. It is exact at any
    moment, because blocks are produced only when asked for (a ``DataLoader`` with no workers). A resume
    (:meth:`load_state`) skips the documents without tokenizing them, then the blocks of the chunk.
    """

    def __init__(self, documents, tokenize: Callable, group: Callable, chunk_documents: int):
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


class StreamedData:
    """The :class:`~idinit_hf.training.data.train_data.TrainData` of a ``--streaming`` run: this process's
    :class:`PackedTextStream`, in order, for ``--max_train_steps`` steps. The epoch of a batch is the pass over
    the shard that the stream is in when the batch is drawn."""

    def __init__(self, stream: PackedTextStream) -> None:
        self.stream = stream
        self.accelerator, self.loader = None, None

    def size(self) -> None:
        return None

    def check(self, state) -> None:
        """Every process's shard holds at least one block (made here, then the position is put back). Gathered,
        so all processes stop together; call outside ``main_process_first``."""
        saved = self.stream.state()
        try:
            next(iter(self.stream))
            problem = None
        except BadInputError as error:
            problem = str(error)
        self.stream.load_state(saved)
        problems = gather_object([problem]) if state.num_processes > 1 else [problem]
        for rank, found in enumerate(problems):
            if found:
                where = f" (the shard of process {rank})" if state.num_processes > 1 else ""
                raise BadInputError(found + where)

    def plan(self, args: argparse.Namespace, num_processes: int) -> StepPlan:
        """``--max_train_steps`` steps, as one epoch: a stream has no length to count epochs in."""
        return StepPlan(args.max_train_steps, 1, args.max_train_steps)

    def prepare(self, accelerator, args: argparse.Namespace, collate_fn: Callable, model, optimizer, scheduler):
        """The loader is this process's shard already: accelerate prepares everything but it."""
        self.loader = seeded_loader(self.stream, args.per_device_train_batch_size, collate_fn, args.seed)
        self.accelerator = accelerator
        return accelerator.prepare(model, optimizer, scheduler)

    def batches(self, plan: StepPlan, on_epoch: Callable[[int], None] | None) -> Iterator[tuple[int, dict]]:
        device = self.accelerator.device
        batches = iter(self.loader)
        while True:
            epoch = self.stream.state()["epoch"]
            if on_epoch is not None:
                on_epoch(epoch)
            yield epoch, {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}

    @property
    def at_epoch_end(self) -> bool:
        """Never: passes over a shard are not epochs of the run (``--checkpointing_steps epoch`` saves nothing)."""
        return False

    def state(self) -> dict[str, Any]:
        """Every process's position (pass, documents read before the current chunk, blocks taken from it), in rank
        order, under ``stream``; ``epoch`` is this process's pass."""
        mine = self.stream.state()
        positions = gather_object([mine]) if self.accelerator.num_processes > 1 else [mine]
        return {"epoch": mine["epoch"], "batches_in_epoch": 0, "stream": positions}

    def load_state(self, state: dict[str, Any], checkpoint: Path) -> None:
        """Put this process's stream where the checkpoint says it was (``run_state.json``'s ``stream``)."""
        positions = state.get("stream")
        if positions is None:
            raise BadInputError(f"checkpoint {checkpoint} was saved without --streaming; resume it without "
                                "--streaming")
        num_processes = self.accelerator.num_processes
        if len(positions) != num_processes:
            raise BadInputError(f"checkpoint {checkpoint} was saved by {len(positions)} streaming process(es); "
                                f"resume it with the same number, not {num_processes} (each process owns its shard)")
        self.stream.load_state(positions[self.accelerator.process_index])
