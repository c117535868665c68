"""Bad input gets one clear error before any training: exit status 2, the message, and nothing written.

Most cases call the script's ``main`` in-process through ``run_cli`` (the same entry point as the command line,
without paying for a fresh interpreter each time); one case runs the real command line end to end.
"""

from __future__ import annotations

import pytest

from .scripts_helpers import TINY, expect_error, run_main, run_script, snapshot


def test_non_empty_output_dir_without_overwrite(existing_output, capsys):
    expect_error("clm", [*TINY["clm"], "--output_dir", str(existing_output)],
                 "exists and is not empty; pass --overwrite_output_dir", existing_output, capsys)


def test_unknown_init_method(existing_output, capsys):
    expect_error("clm", [*TINY["clm"], "--init_method", "xavier", "--output_dir", str(existing_output),
                         "--overwrite_output_dir"],
                 "argument --init_method: invalid choice: 'xavier'", existing_output, capsys)


def test_bad_idinit_option(existing_output, capsys):
    expect_error("mlm", [*TINY["mlm"], "--init_method", "idinit", "--idinit_tau", "0", "--output_dir",
                         str(existing_output), "--overwrite_output_dir"],
                 "argument --idinit_tau: '0' is not a finite number > 0", existing_output, capsys)


def test_missing_data_file(existing_output, tmp_path, capsys):
    expect_error("clm", [*TINY["clm"], "--train_file", str(tmp_path / "nope.txt"), "--output_dir",
                         str(existing_output), "--overwrite_output_dir"],
                 f"--train_file {tmp_path / 'nope.txt'}: no such file", existing_output, capsys)


def test_empty_data_file(existing_output, tmp_path, capsys):
    (tmp_path / "empty.jsonl").write_text("")
    expect_error("mlm", [*TINY["mlm"], "--train_file", str(tmp_path / "empty.jsonl"), "--output_dir",
                         str(existing_output), "--overwrite_output_dir"],
                 "the file is empty", existing_output, capsys)


def test_text_column_that_does_not_exist(existing_output, tmp_path, capsys):
    (tmp_path / "train.jsonl").write_text('{"body": "some text"}\n{"body": "more text"}\n')
    expect_error("clm", [*TINY["clm"], "--train_file", str(tmp_path / "train.jsonl"), "--text_column_name", "text",
                         "--output_dir", str(existing_output), "--overwrite_output_dir"],
                 "--text_column_name 'text' is not a column of the data; columns: ['body']", existing_output, capsys)


def test_image_label_column_that_does_not_exist(existing_output, capsys):
    expect_error("vit", [*TINY["vit"], "--label_column_name", "target", "--output_dir", str(existing_output),
                         "--overwrite_output_dir"],
                 "--label_column_name 'target' is not a column of the data", existing_output, capsys)


@pytest.mark.slow  # a fresh process
def test_block_size_above_context_length_on_the_command_line(existing_output):
    """The real command line: exit status 2, one error line, nothing written."""
    before = snapshot(existing_output)
    result = run_script("clm", *TINY["clm"], "--block_size", "128", "--output_dir", str(existing_output),
                        "--overwrite_output_dir", check=False)
    assert result.returncode == 2
    assert ("pretrain_clm.py: error: --block_size 128 is above the model's context length 64" in result.stderr)
    assert "Traceback" not in result.stderr
    assert snapshot(existing_output) == before


def test_fp16_refused_where_unsupported(existing_output, capsys):
    """On a CPU fp16 autocast is unavailable: --mixed_precision_fallback error stops before training."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("fp16 is supported on this GPU")
    expect_error("clm", [*TINY["clm"], "--mixed_precision", "fp16", "--mixed_precision_fallback", "error",
                         "--output_dir", str(existing_output), "--overwrite_output_dir"],
                 "fp16 was asked but is not supported on rank 0 (cpu", existing_output, capsys)


def test_resume_without_a_checkpoint(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("keep me")
    expect_error("vit", [*TINY["vit"], "--resume_from_checkpoint", "latest", "--output_dir", str(tmp_path / "run")],
                 "--resume_from_checkpoint latest: no complete checkpoint", tmp_path / "run", capsys)


@pytest.mark.slow  # trains a step first
def test_checkpoint_from_another_model(tmp_path, capsys):
    """A real checkpoint of a 2-layer GPT-2, resumed with 3 layers, in its own output folder."""
    out = tmp_path / "run"
    run_main("clm", *TINY["clm"], "--max_train_samples", "10", "--max_train_steps", "1", "--checkpointing_steps", "1",
             "--output_dir", str(out))
    capsys.readouterr()
    checkpoint = out / "checkpoints" / "step_00000001"
    overrides = TINY["clm"][1].replace("n_layer=2", "n_layer=3")
    expect_error("clm", ["--config_overrides", overrides, *TINY["clm"][2:], "--max_train_samples", "10",
                         "--max_train_steps", "2", "--resume_from_checkpoint", str(checkpoint), "--output_dir",
                         str(out)],
                 f"checkpoint {checkpoint} is from another model: n_layer=2 in the checkpoint, 3 now", out, capsys)
    expect_error("mlm", [*TINY["mlm"], "--resume_from_checkpoint", str(checkpoint), "--output_dir", str(out)],
                 "was saved by the 'clm' script, not 'mlm'", out, capsys)


def test_torch_compile_where_torch_cannot_compile(existing_output, monkeypatch, capsys):
    """The compile probe fails (here: torch.compile raises, as it does without a C++ compiler or Triton): one
    line, exit 2, before any data is read or anything written."""
    import torch

    def cannot_compile(*args, **kwargs):
        raise RuntimeError("InductorError: CppCompileError: C++ compile error")

    monkeypatch.setattr(torch, "compile", cannot_compile)
    expect_error("clm", [*TINY["clm"], "--torch_compile", "--output_dir", str(existing_output),
                         "--overwrite_output_dir"],
                 "--torch_compile: torch.compile does not work on cpu (RuntimeError: InductorError: CppCompileError: "
                 "C++ compile error); run without --torch_compile", existing_output, capsys)


@pytest.mark.slow  # trains a step first
def test_streaming_checkpoint_needs_streaming_to_resume(tmp_path, capsys):
    """A checkpoint records whether the run streamed: resuming it the other way is refused, naming the flag."""
    out = tmp_path / "run"
    run_main("clm", *TINY["clm"], "--streaming", "--max_train_steps", "1", "--checkpointing_steps", "1",
             "--output_dir", str(out))
    capsys.readouterr()
    checkpoint = out / "checkpoints" / "step_00000001"
    expect_error("clm", [*TINY["clm"], "--max_train_steps", "2", "--resume_from_checkpoint", str(checkpoint),
                         "--output_dir", str(out)],
                 f"checkpoint {checkpoint} was saved by a --streaming run; resume it with --streaming", out, capsys)
