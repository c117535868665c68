"""``--streaming``: the packed text stream against the in-memory path, its position and resume, and its shards.

The quick tests build the data exactly as the scripts do (``load_text`` → ``TextData.blocks``) from a local text
file of short lines, so that a pass crosses several packing chunks of ``GROUP_DOCUMENTS`` documents. The slow
ones run the scripts: a streamed run killed after a checkpoint resumes to the uninterrupted run's weights, and
two processes read disjoint shards that cover the data.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest
import torch
from test_faults import assert_bit_identical, weights
from test_scripts_common import ACCELERATE, ROOT, TINY, read_log, run_script, script_env

from idinit_hf.training.args import build_parser
from idinit_hf.training.data import (
    GROUP_DOCUMENTS,
    PackedTextStream,
    check_blocks,
    embedded_text_documents,
    load_text,
    rank_shard,
)
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.tokenization import train_bpe, train_wordpiece, wrap

LINES = 2300  # three packing chunks: 1000, 1000, 300 documents


def corpus_lines(count: int = LINES) -> list[str]:
    """Short lines (1 to 4 words of CPython's reference text): many documents, few tokens each."""
    words = " ".join(embedded_text_documents()).split()
    return [" ".join(words[i * 4:i * 4 + 1 + i % 4]) for i in range(count)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "corpus.txt"
    path.write_text("".join(line + "\n" for line in corpus_lines()))
    return path


def flags(task: str, corpus: Path, *extra: str):
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


def blocks_of(task: str, corpus: Path, streaming: bool, tokenizer=None):
    args, text = text_of(task, corpus, streaming)
    tokenizer = tokenizer or tokenizer_for(task, text)
    return text.blocks(tokenizer, 16, args, OneProcess(), add_eos=task == "clm",
                       special_tokens_mask=task == "mlm")[0]


@pytest.mark.parametrize("task", ["clm", "mlm"])
def test_a_stream_yields_the_in_memory_blocks_in_order(task, corpus):
    """Same file, one process, no shuffling: the streamed blocks are the in-memory blocks, in order; then the
    next pass starts over. A tokenizer trained on either gets the same documents."""
    _, whole = text_of(task, corpus, streaming=False)
    _, streamed_text = text_of(task, corpus, streaming=True)
    assert streamed_text.tokenizer_corpus()["text"] == whole.tokenizer_corpus()["text"]
    tokenizer = tokenizer_for(task, whole)  # trained once: WordPiece training is not deterministic
    in_memory = blocks_of(task, corpus, False, tokenizer)
    stream = blocks_of(task, corpus, True, tokenizer)
    assert isinstance(stream, PackedTextStream)
    streamed = list(itertools.islice(iter(stream), len(in_memory) + 2))
    expected = [dict(row) for row in in_memory]
    assert streamed[:len(in_memory)] == expected
    assert streamed[len(in_memory):] == expected[:2]  # pass 2
    assert stream.state() == {"epoch": 1, "documents": 0, "blocks": 2}


@pytest.fixture(scope="module")
def clm_stream(corpus):
    stream = blocks_of("clm", corpus, streaming=True)
    reference = list(itertools.islice(iter(stream), 1200))
    return stream, reference


@pytest.mark.parametrize("taken", [0, 1, 37, 300, 800, 1100])
def test_a_stream_resumes_from_its_state_without_repeating_or_skipping(clm_stream, taken):
    """The state after ``taken`` blocks, loaded into a new stream, gives exactly the blocks that followed
    (positions inside a chunk, in a later chunk, and in the second pass)."""
    stream, reference = clm_stream
    stream.load_state({"epoch": 0, "documents": 0, "blocks": 0})
    list(itertools.islice(iter(stream), taken))
    state = stream.state()
    resumed = PackedTextStream(stream.documents, stream.tokenize, stream.group)
    resumed.load_state(json.loads(json.dumps(state)))  # through run_state.json
    assert list(itertools.islice(iter(resumed), 100)) == reference[taken:taken + 100]


def test_a_dataloader_leaves_the_stream_exactly_after_its_batches(clm_stream):
    """What the loop relies on: with no workers, a DataLoader draws exactly its batches from the stream."""
    from transformers import default_data_collator

    stream, reference = clm_stream
    stream.load_state({"epoch": 0, "documents": 0, "blocks": 0})
    batches = iter(torch.utils.data.DataLoader(stream, batch_size=7, collate_fn=default_data_collator))
    for _ in range(3):
        next(batches)
    resumed = PackedTextStream(stream.documents, stream.tokenize, stream.group)
    resumed.load_state(stream.state())
    assert next(iter(resumed)) == reference[21]


def test_two_shards_are_disjoint_and_cover_the_documents(corpus):
    args = flags("clm", corpus, "--streaming", "--max_train_steps", "1")
    documents = load_text(args).train
    shards = [[row["text"] for row in rank_shard(documents, rank, 2)] for rank in range(2)]
    everything = [row["text"] for row in documents]
    assert len(shards[0]) + len(shards[1]) == len(everything) == LINES
    assert sorted(shards[0] + shards[1]) == sorted(everything)
    assert shards[0] == everything[0::2] and shards[1] == everything[1::2]  # one file: every other document


def test_a_stream_with_fewer_tokens_than_a_block_is_refused(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("a b\n")
    args = flags("clm", path, "--streaming", "--max_train_steps", "1")
    text = load_text(args)
    tokenizer = wrap(train_bpe(text.tokenizer_corpus(), "text", 300), "clm", 64)
    stream = text.blocks(tokenizer, 16, args, OneProcess(), add_eos=True, special_tokens_mask=False)[0]
    with pytest.raises(BadInputError, match="fewer tokens than one block"):
        check_blocks(stream, OneProcess())
    assert GROUP_DOCUMENTS == 1000


# ---------------------------------------------------------------------------------------------- the scripts
#: 16 steps of 32 blocks of 64 tokens, a checkpoint every 4: step 12 is in the second chunk of documents (a pass
#: is about 480 blocks), and the run ends in the second pass over the file.
STREAM_RUN = [*TINY["clm"], "--block_size", "64", "--streaming", "--max_train_steps", "16",
              "--per_device_train_batch_size", "32", "--learning_rate", "1e-2", "--checkpointing_steps", "4"]


@pytest.mark.slow
def test_a_killed_streamed_run_resumes_to_the_uninterrupted_weights(corpus, tmp_path):
    """SIGKILL after step 14 (checkpoints at 4, 8, 12), resume from the latest: the final weights are
    bit-identical to an uninterrupted streamed run, so no block was seen twice or skipped."""
    from test_faults import KILL_WORKER

    run = [*STREAM_RUN, "--train_file", str(corpus)]
    run_script("clm", *run, "--output_dir", str(tmp_path / "whole"))
    out = tmp_path / "killed"
    result = run_script("clm", *run, "--output_dir", str(out), check=False,
                        launcher=[sys.executable, str(KILL_WORKER), "after-step", "14"])
    assert result.returncode == -9, result.stderr[-2000:]
    state = json.loads((out / "checkpoints" / "step_00000012" / "run_state.json").read_text())
    assert state["stream"][0]["epoch"] == 0 and state["stream"][0]["documents"] > 0, state["stream"]
    resumed = run_script("clm", *run, "--output_dir", str(out), "--resume_from_checkpoint", "latest")
    assert "step_00000012: step 12" in resumed.stdout + resumed.stderr
    assert_bit_identical(weights(out), weights(tmp_path / "whole"))
    assert [r["loss"] for r in read_log(out)] == [r["loss"] for r in read_log(tmp_path / "whole")]
    assert read_log(out)[-1]["epoch"] == 1  # the second pass was reached


STREAM_WORKER = """
import json, sys
from accelerate import PartialState
from idinit_hf.training.args import build_parser
from idinit_hf.training.data import load_text, rank_shard

state = PartialState(cpu=True)
args = build_parser("clm", "").parse_args(["--output_dir", "x", "--train_file", sys.argv[1], "--streaming",
                                           "--max_train_steps", "1"])
args.task = "clm"
shard = rank_shard(load_text(args).train, state.process_index, state.num_processes)
with open(f"{sys.argv[2]}/rank{state.process_index}.json", "w") as file:
    json.dump([row["text"] for row in shard], file)
"""


@pytest.mark.slow
def test_two_processes_read_disjoint_shards_that_cover_the_data(corpus, tmp_path):
    """``accelerate launch`` with 2 CPU processes: each reads its own shard of the stream (as the scripts do)."""
    import subprocess

    worker = tmp_path / "worker.py"
    worker.write_text(STREAM_WORKER)
    command = [str(ACCELERATE), "launch", "--config_file", str(ROOT / "configs/accelerate/cpu_2proc.yaml"),
               str(worker), str(corpus), str(tmp_path)]
    result = subprocess.run(command, env=script_env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    shards = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    lines = [line + "\n" for line in corpus_lines()]  # text files keep their line breaks
    assert len(shards[0]) + len(shards[1]) == LINES
    assert shards[0] == lines[0::2] and shards[1] == lines[1::2]  # disjoint by position, in order
    assert sorted(shards[0] + shards[1]) == sorted(lines)  # together: every document once


@pytest.mark.slow
def test_two_processes_train_on_a_stream_and_record_both_positions(corpus, tmp_path):
    out = tmp_path / "ddp"
    run_script("clm", *TINY["clm"], "--streaming", "--train_file", str(corpus), "--max_train_steps", "3",
               "--checkpointing_steps", "3", "--output_dir", str(out),
               launcher=[str(ACCELERATE), "launch", "--config_file", str(ROOT / "configs/accelerate/cpu_2proc.yaml")])
    state = json.loads((out / "checkpoints" / "step_00000003" / "run_state.json").read_text())
    assert state["stream"] == [{"epoch": 0, "documents": 0, "blocks": 24}] * 2  # 3 steps x 8 blocks, each rank
    results = json.loads((out / "all_results.json").read_text())
    assert results["num_processes"] == 2
    assert results["tokens_per_second"] == pytest.approx(2 * results["tokens_per_second_per_process"], rel=1e-3)
