"""docs/errors.md, row by row: every script flag and config option is in the table, every test the table names
exists, every typed flag refuses a bad value with argparse's one-line error, and each flag-level rule below
gives its documented message, exit status 2, and writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idinit_hf.options import OPTIONS
from idinit_hf.training import args as script_args
from idinit_hf.training.errors import BadInputError, TrainingStopped, loading, run_cli

from .scripts_helpers import ROOT, TINY, fails

TABLE = (ROOT / "docs" / "errors.md").read_text()


def flags(task: str) -> list:
    return [a for a in script_args.build_parser(task, "")._actions if a.option_strings and a.dest != "help"]


ALL_FLAGS = sorted({a.option_strings[0] for task in ("clm", "mlm", "vit") for a in flags(task)})


@pytest.mark.parametrize("flag", ALL_FLAGS)
def test_every_script_flag_has_a_row(flag):
    assert re.search(rf"`{re.escape(flag)}`", TABLE), f"{flag} is missing from docs/errors.md"


@pytest.mark.parametrize("key", ["init_method", *sorted(OPTIONS)])
def test_every_config_option_has_a_row(key):
    assert f"`{key}`" in TABLE, f"{key} is missing from docs/errors.md"


def test_every_test_the_table_names_exists():
    named = set(re.findall(r"`(test_\w+)`", TABLE))
    defined = {m for f in (ROOT / "tests").rglob("test_*.py") for m in re.findall(r"^def (test_\w+)", f.read_text(), re.M)}
    assert named, "the table names no test"
    assert named <= defined, sorted(named - defined)


#: one bad value per argparse type, and the line argparse prints for it
BAD_VALUE = {
    "_positive_int": ("0", "must be a positive integer, got 0"),
    "_nonnegative_int": ("-1", "must be an integer >= 0, got -1"),
    "_finite_float": ("inf", "must be a finite number, got inf"),
    "positive": ("0", "'0' is not a finite number > 0"),  # the kinds of idinit_hf.options.KINDS
    "nonnegative": ("nan", "'nan' is not a finite number >= 0"),
    "seed": ("1.5", "'1.5' is not None or an integer >= 0"),
    "_steps_or_epoch": ("0", "must be a positive integer, got 0"),
    "_positive_float": ("0", "must be a positive number, got 0"),
    "float": ("abc", "invalid float value: 'abc'"),
}
TYPED = [(task, a.option_strings[0], *(BAD_VALUE[a.type.__name__] if a.type else ("bogus", "invalid choice: 'bogus'")))
         for task in ("clm", "mlm", "vit") for a in flags(task) if a.type is not None or a.choices]


def test_every_typed_flag_is_covered():
    """No flag has a type this table does not know: a new type needs a bad value here."""
    assert {a.type.__name__ for task in ("clm", "mlm", "vit") for a in flags(task) if a.type} <= set(BAD_VALUE)


@pytest.mark.parametrize("task, flag, value, message", TYPED, ids=[f"{t}{f}" for t, f, _, _ in TYPED])
def test_every_typed_flag_refuses_a_bad_value(task, flag, value, message, tmp_path, capsys):
    err = fails(task, [*TINY[task], flag, value, "--output_dir", str(tmp_path / "out")], capsys)
    assert f"argument {flag}: {message}" in err, err
    assert not (tmp_path / "out").exists()


RULES = [  # (script, extra flags, message): the rules validate_args and the scripts add to the types
    ("clm", ["--learning_rate", "0"], "--learning_rate must be > 0"),
    ("clm", ["--weight_decay", "-0.1"], "--weight_decay and --max_grad_norm must be >= 0"),
    ("clm", ["--validation_split_percentage", "100"], "--validation_split_percentage must be below 100"),
    ("mlm", ["--mlm_probability", "1.5"], "--mlm_probability must be between 0 and 1"),
    ("clm", ["--idinit_tau", "-1"], "argument --idinit_tau: '-1' is not a finite number > 0"),
    ("clm", ["--idinit_loosening=-1e-3"], "argument --idinit_loosening: '-1e-3' is not a finite number >= 0"),
    ("clm", ["--init_method", "IDInit"], "argument --init_method: invalid choice: 'IDInit'"),
    ("clm", ["--model_type", "gpt3"], "--model_type 'gpt3' is not a transformers model type"),
    ("clm", ["--model_type", "mamba", "--init_method", "idinit", "--config_overrides",
             "num_hidden_layers=1,hidden_size=32,state_size=4"],
     "init_method='idinit' has no role table for model_type='mamba'; supported: "),
    ("clm", ["--model_type", "vit", "--config_overrides", "num_hidden_layers=1"], "model type 'vit' has no AutoModelForCausalLM head in transformers"),
    ("clm", ["--config_overrides", "n_layer"], '--config_overrides: expected "key=value,key=value", got \'n_layer\''),
    ("clm", ["--config_overrides", "n_layerz=2"], "--config_overrides: key n_layerz isn't in the original config dict"),
    ("clm", ["--config_name", "no/such/config"], "--config_name no/such/config: could not be loaded"),
    ("clm", ["--tokenizer_name", "no/such/tokenizer"], "--tokenizer_name no/such/tokenizer: could not be loaded"),
    ("clm", ["--dataset_name", "no/such/dataset"], "--dataset_name no/such/dataset: could not be loaded"),
    ("vit", ["--image_processor_name", "no/such/processor"], "--image_processor_name no/such/processor: could not be loaded"),
    ("clm", ["--train_file", "data.txt", "--validation_file", "x.txt"], "--validation_file x.txt: no such file"),
    ("clm", ["--validation_file", "data.txt"], "--validation_file needs --train_file"),
    ("clm", ["--train_file", "notes.md"], "--train_file notes.md: unknown file type; use .txt, .json, .jsonl, .csv or .parquet"),
    ("clm", ["--train_file", "data.txt", "--validation_file", "data.jsonl"],
     "--train_file and --validation_file must have the same file type"),
    ("clm", ["--train_file", "data.txt", "--dataset_name", "x"],
     "give either --dataset_name or local data (--train_file/--train_dir), not both"),
    ("vit", ["--train_dir", "no/such/folder"], "--train_dir no/such/folder: no such folder, or it is empty"),
    ("vit", ["--train_dir", "empty_folder"], "--train_dir empty_folder: no such folder, or it is empty"),
    ("vit", ["--validation_dir", "folder"], "--validation_dir needs --train_dir"),
    ("vit", ["--config_overrides", TINY["vit"][1].replace("num_channels=1", "num_channels=2")],
     "num_channels=2: images can be converted to 1 or 3 channels only"),
    ("vit", ["--config_overrides", TINY["vit"][1].replace("patch_size=2", "patch_size=3")],
     "image_size=8 is not a multiple of patch_size=3"),
    ("clm", ["--resume_from_checkpoint", "no/such/checkpoint"], "--resume_from_checkpoint no/such/checkpoint: no such folder"),
    ("clm", ["--resume_from_checkpoint", "folder"], "--resume_from_checkpoint folder: not a checkpoint of these scripts"),
    ("clm", ["--output_dir", "data.txt"], "--output_dir data.txt exists and is not a folder"),
    ("clm", ["--streaming"], "--streaming needs --max_train_steps: a stream has no length to count epochs in"),
    ("mlm", ["--streaming", "--train_file", "data.txt"], "--streaming needs --max_train_steps"),
    ("vit", ["--streaming", "--max_train_steps", "2"], "unrecognized arguments: --streaming"),
    ("clm", ["--peak_tflops", "abc"], "argument --peak_tflops: must be a positive number, got abc"),
    ("clm", ["--peak_tflops", "-5"], "argument --peak_tflops: must be a positive number, got -5"),
]


@pytest.mark.parametrize("task, extra, message", RULES, ids=[m[:40] for _, _, m in RULES])
def test_rule(task, extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the relative paths above
    Path("data.txt").write_text("some text\n")
    Path("data.jsonl").write_text('{"text": "some text"}\n')
    Path("notes.md").write_text("# notes\n")
    Path("folder").mkdir()
    Path("folder/file.txt").write_text("x")
    Path("empty_folder").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    err = fails(task, [*TINY[task], "--output_dir", "out", *extra], capsys)  # a later --output_dir wins
    assert message in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


# ------------------------------------------------------------------------------- how an error surfaces (errors.py)
def test_bad_input_is_one_line_and_exit_status_2(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["pretrain_x.py"])

    def main(argv):
        raise BadInputError("--flag: what is wrong")

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "pretrain_x.py: error: --flag: what is wrong\n"


def test_a_stopped_run_is_one_line_and_exit_status_1(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["pretrain_x.py"])

    def main(argv):
        raise TrainingStopped("step 3: what happened")

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main)
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "pretrain_x.py: error: step 3: what happened\n"


def test_a_bug_keeps_its_traceback():
    def main(argv):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run_cli(main)


def test_a_failed_load_names_the_flag_in_one_line():
    with pytest.raises(BadInputError) as error, loading("--config_name", "no/such"):
        raise OSError("no/such is not a local folder\nand a second line")
    assert str(error.value) == "--config_name no/such: could not be loaded (OSError: no/such is not a local folder)"
