"""``--streaming`` (idinit_hf/training/data/stream.py): the packed text stream against the in-memory path, its
position and resume, the shards of each process, and :class:`StreamedData`, what the loop reads.

The data is built exactly as the scripts build it (``load_text`` → ``.blocks``) from a local text file of short
lines, so that a pass crosses several packing chunks of ``GROUP_DOCUMENTS`` documents.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import pytest
import torch
from transformers import default_data_collator

from idinit_hf.training.args import build_parser
from idinit_hf.training.data.stream import PackedTextStream, StreamedData, rank_shard
from idinit_hf.training.data.text import GROUP_DOCUMENTS, load_text
from idinit_hf.training.data.train_data import StepPlan
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.tokenization import train_bpe, train_wordpiece, wrap

from ..scripts_helpers import CORPUS_LINES, corpus_lines, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("stream") / "corpus.txt")


def flags(task: str, corpus: Path, *extra: str) -> argparse.Namespace:
    args = build_parser(task, "").parse_args(["--output_dir", "unused", "--train_file", str(corpus),
                                              "--validation_split_percentage", "0", *extra])
    args.task = task
    return args


class OneProcess:
    process_index, num_processes, is_main_process = 0, 1, True


def text_of(task: str, corpus: Path, streaming: bool):
    args = flags(task, corpus, *(["--streaming", "--max_train_steps", "1"] if streaming else []))
    return args, load_text(args)


def tokenizer_for(task: str, text):
    return wrap((train_bpe if task == "clm" else train_wordpiece)(text.tokenizer_corpus(), text.column, 300), task, 64)


def train_data_of(task: str, corpus: Path, streaming: bool, tokenizer=None):
    args, text = text_of(task, corpus, streaming)
    tokenizer = tokenizer or tokenizer_for(task, text)
    return text.blocks(tokenizer, 16, args, OneProcess(), add_eos=task == "clm", special_tokens_mask=task == "mlm")[0]


@pytest.mark.parametrize("task", ["clm", "mlm"])
def test_a_stream_yields_the_in_memory_blocks_in_order(task, corpus):
    """Same file, one process, no shuffling: the streamed blocks are the in-memory blocks, in order; then the
    next pass starts over. A tokenizer trained on either gets the same documents."""
    _, whole = text_of(task, corpus, streaming=False)
    _, streamed_text = text_of(task, corpus, streaming=True)
    assert streamed_text.tokenizer_corpus()["text"] == whole.tokenizer_corpus()["text"]
    tokenizer = tokenizer_for(task, whole)  # trained once: WordPiece training is not deterministic
    in_memory = train_data_of(task, corpus, False, tokenizer).dataset
    streamed_data = train_data_of(task, corpus, True, tokenizer)
    assert isinstance(streamed_data, StreamedData)
    stream = streamed_data.stream
    streamed = list(itertools.islice(iter(stream), len(in_memory) + 2))
    expected = [dict(row) for row in in_memory]
    assert streamed[:len(in_memory)] == expected
    assert streamed[len(in_memory):] == expected[:2]  # pass 2
    assert stream.state() == {"epoch": 1, "documents": 0, "blocks": 2}


@pytest.fixture(scope="module")
def clm_stream(corpus):
    stream = train_data_of("clm", corpus, streaming=True).stream
    reference = list(itertools.islice(iter(stream), 1200))
    return stream, reference


def copy_of(stream: PackedTextStream) -> PackedTextStream:
    return PackedTextStream(stream.documents, stream.tokenize, stream.group, stream.chunk_documents)


@pytest.mark.parametrize("taken", [0, 1, 37, 300, 800, 1100])
def test_a_stream_resumes_from_its_state_without_repeating_or_skipping(clm_stream, taken):
    """The state after ``taken`` blocks, loaded into a new stream, gives exactly the blocks that followed
    (positions inside a chunk, in a later chunk, and in the second pass)."""
    stream, reference = clm_stream
    stream.load_state({"epoch": 0, "documents": 0, "blocks": 0})
    list(itertools.islice(iter(stream), taken))
    state = stream.state()
    resumed = copy_of(stream)
    resumed.load_state(json.loads(json.dumps(state)))  # through run_state.json
    assert list(itertools.islice(iter(resumed), 100)) == reference[taken:taken + 100]


def test_a_dataloader_leaves_the_stream_exactly_after_its_batches(clm_stream):
    """What the loop relies on: with no workers, a DataLoader draws exactly its batches from the stream."""
    stream, reference = clm_stream
    stream.load_state({"epoch": 0, "documents": 0, "blocks": 0})
    batches = iter(torch.utils.data.DataLoader(stream, batch_size=7, collate_fn=default_data_collator))
    for _ in range(3):
        next(batches)
    resumed = copy_of(stream)
    resumed.load_state(stream.state())
    assert next(iter(resumed)) == reference[21]


def test_two_shards_are_disjoint_and_cover_the_documents(corpus):
    """Each process's shard, as the scripts take it (``rank_shard`` of ``load_text``'s stream, by rank and
    number of processes): disjoint by position, in order, and together every document once."""
    args = flags("clm", corpus, "--streaming", "--max_train_steps", "1")
    documents = load_text(args).train
    shards = [[row["text"] for row in rank_shard(documents, rank, 2)] for rank in range(2)]
    everything = [row["text"] for row in documents]
    lines = [line + "\n" for line in corpus_lines()]  # text files keep their line breaks
    assert everything == lines
    assert len(shards[0]) + len(shards[1]) == len(everything) == CORPUS_LINES
    assert sorted(shards[0] + shards[1]) == sorted(everything)
    assert shards[0] == everything[0::2] and shards[1] == everything[1::2]  # one file: every other document


def test_a_stream_with_fewer_tokens_than_a_block_is_refused(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("a b\n")
    args = flags("clm", path, "--streaming", "--max_train_steps", "1")
    text = load_text(args)
    tokenizer = wrap(train_bpe(text.tokenizer_corpus(), "text", 300), "clm", 64)
    train_data = text.blocks(tokenizer, 16, args, OneProcess(), add_eos=True, special_tokens_mask=False)[0]
    with pytest.raises(BadInputError, match="fewer tokens than one block"):
        train_data.check(OneProcess())
    assert GROUP_DOCUMENTS == 1000


def test_the_check_leaves_the_stream_where_it_was(clm_stream):
    stream, _ = clm_stream
    stream.load_state({"epoch": 0, "documents": 1000, "blocks": 3})
    StreamedData(stream).check(OneProcess())
    assert stream.state() == {"epoch": 0, "documents": 1000, "blocks": 3}


def test_a_streamed_run_is_as_long_as_max_train_steps(clm_stream):
    args = argparse.Namespace(max_train_steps=7, num_train_epochs=3, gradient_accumulation_steps=2,
                              per_device_train_batch_size=8)
    data = StreamedData(clm_stream[0])
    assert data.plan(args, num_processes=2) == StepPlan(7, 1, 7)
    assert data.size() is None and data.at_epoch_end is False  # passes over a shard are not epochs of the run


class Processes:
    """What StreamedData reads of the Accelerator: the device, and this process among how many."""

    device = torch.device("cpu")

    def __init__(self, index: int, count: int):
        self.process_index, self.num_processes = index, count


def test_the_position_is_every_process_s_and_resumes_its_own(clm_stream, tmp_path):
    stream, _ = clm_stream
    data = StreamedData(stream)
    data.accelerator = Processes(0, 1)
    stream.load_state({"epoch": 1, "documents": 1000, "blocks": 5})
    assert data.state() == {"epoch": 1, "batches_in_epoch": 0, "stream": [{"epoch": 1, "documents": 1000, "blocks": 5}]}
    data.accelerator = Processes(1, 2)
    data.load_state({"stream": [{"epoch": 0, "documents": 0, "blocks": 1}, {"epoch": 2, "documents": 0, "blocks": 9}]},
                    tmp_path)
    assert stream.state() == {"epoch": 2, "documents": 0, "blocks": 9}


@pytest.mark.parametrize("state, message", [
    ({"epoch": 0, "batches_in_epoch": 3}, "was saved without --streaming; resume it without --streaming"),
    ({"stream": [{"epoch": 0, "documents": 0, "blocks": 1}]},
     "was saved by 1 streaming process(es); resume it with the same number, not 2 (each process owns its shard)"),
])
def test_a_checkpoint_of_another_kind_of_run_is_refused(clm_stream, state, message, tmp_path):
    data = StreamedData(clm_stream[0])
    data.accelerator = Processes(0, 2)
    with pytest.raises(BadInputError) as error:
        data.load_state(state, tmp_path / "step_00000004")
    assert str(error.value) == f"checkpoint {tmp_path / 'step_00000004'} {message}"


def test_batches_carry_the_pass_they_were_drawn_in(clm_stream):
    """The epoch of a streamed batch is the stream's pass when the batch is drawn, and ``on_epoch`` hears it
    first (the MLM collator's masks depend on it)."""
    stream, reference = clm_stream
    stream.load_state({"epoch": 0, "documents": 0, "blocks": 0})
    args = argparse.Namespace(per_device_train_batch_size=4, seed=0)
    data = StreamedData(stream)
    accelerator = Processes(0, 1)
    accelerator.prepare = lambda *objects: objects
    data.prepare(accelerator, args, default_data_collator, "model", "optimizer", "scheduler")
    heard = []
    first_epoch, first = next(data.batches(StepPlan(5, 1, 5), heard.append))
    assert first_epoch == 0 and heard == [0]
    assert first["input_ids"].tolist() == [block["input_ids"] for block in reference[:4]]
