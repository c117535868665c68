"""``--streaming`` end to end: a streamed run killed after a checkpoint resumes to the uninterrupted run's
weights, and two processes each train on their own shard and record both positions. (The stream itself, its
position, resume and shards: tests/training/data/test_stream.py.)"""

from __future__ import annotations

import json
import sys

import pytest

from .scripts_helpers import (
    KILL_WORKER,
    TINY,
    accelerate_launch,
    assert_bit_identical,
    read_log,
    run_main,
    run_script,
    weights,
    write_corpus,
)

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

#: 16 steps of 32 blocks of 64 tokens, a checkpoint every 4: step 12 is in the second chunk of documents (a pass
#: is about 480 blocks), and the run ends in the second pass over the file.
STREAM_RUN = [*TINY["clm"], "--block_size", "64", "--streaming", "--max_train_steps", "16",
              "--per_device_train_batch_size", "32", "--learning_rate", "1e-2", "--checkpointing_steps", "4"]


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus.txt")


def test_a_killed_streamed_run_resumes_to_the_uninterrupted_weights(corpus, tmp_path, capsys):
    """SIGKILL after step 14 (checkpoints at 4, 8, 12), resume from the latest: the final weights are
    bit-identical to an uninterrupted streamed run, so no block was seen twice or skipped. (The killed run is a
    process of its own; the uninterrupted and the resumed run run in this one.)"""
    run = [*STREAM_RUN, "--train_file", str(corpus)]
    run_main("clm", *run, "--output_dir", str(tmp_path / "whole"))
    out = tmp_path / "killed"
    result = run_script("clm", *run, "--output_dir", str(out), check=False,
                        launcher=[sys.executable, str(KILL_WORKER), "after-step", "14"])
    assert result.returncode == -9, result.stderr[-2000:]
    state = json.loads((out / "checkpoints" / "step_00000012" / "run_state.json").read_text())
    assert state["stream"][0]["epoch"] == 0 and state["stream"][0]["documents"] > 0, state["stream"]
    capsys.readouterr()
    run_main("clm", *run, "--output_dir", str(out), "--resume_from_checkpoint", "latest")
    assert "step_00000012: step 12" in capsys.readouterr().out
    assert_bit_identical(weights(out), weights(tmp_path / "whole"))
    assert [r["loss"] for r in read_log(out)] == [r["loss"] for r in read_log(tmp_path / "whole")]
    assert read_log(out)[-1]["epoch"] == 1  # the second pass was reached


def test_two_processes_train_on_a_stream_and_record_both_positions(corpus, tmp_path):
    out = tmp_path / "ddp"
    run_script("clm", *TINY["clm"], "--streaming", "--train_file", str(corpus), "--max_train_steps", "3",
               "--checkpointing_steps", "3", "--output_dir", str(out), launcher=accelerate_launch())
    state = json.loads((out / "checkpoints" / "step_00000003" / "run_state.json").read_text())
    assert state["stream"] == [{"epoch": 0, "documents": 0, "blocks": 24}] * 2  # 3 steps x 8 blocks, each rank
    results = json.loads((out / "all_results.json").read_text())
    assert results["num_processes"] == 2
    assert results["tokens_per_second"] == pytest.approx(2 * results["tokens_per_second_per_process"], rel=1e-3)
