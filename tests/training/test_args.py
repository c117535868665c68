"""The scripts' flags (idinit_hf/training/args.py): one ``--idinit_*`` flag per row of ``OPTION_SPECS``, the
parser built group by group from the task table, the checks that need only the flags, and the generated flag
table of docs/scripts.md."""

from __future__ import annotations

import argparse

import pytest

from idinit_hf.options import OPTION_SPECS
from idinit_hf.training.args import (
    add_data_flags,
    add_init_flags,
    add_model_flags,
    add_run_flags,
    add_training_flags,
    build_parser,
    output_dir_problem,
    parse_config_overrides,
)
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.tasks import TASKS

from .scripts_helpers import ROOT, load_script


@pytest.mark.parametrize("spec", OPTION_SPECS, ids=lambda spec: spec.key)
def test_help_gives_each_option_its_allowed_values(spec):
    text = " ".join(build_parser("clm", "").format_help().split())
    assert f"--{spec.key}" in text
    assert " ".join(spec.doc.split()[:3]) in text


@pytest.mark.parametrize("task", TASKS)
def test_the_parser_is_its_groups_in_order(task):
    """build_parser is the five add_*_flags functions, in the order of --help."""
    composed = argparse.ArgumentParser()
    spec = TASKS[task]
    add_data_flags(composed, spec)
    add_model_flags(composed, spec)
    add_init_flags(composed)
    add_training_flags(composed, spec)
    add_run_flags(composed)
    flags = lambda parser: [(a.option_strings, a.default) for a in parser._actions if a.dest != "help"]  # noqa: E731
    assert flags(build_parser(task, "")) == flags(composed)
    titles = [group.title for group in build_parser(task, "")._action_groups[2:]]
    assert titles == ["data (default: the embedded corpus, see docs/scripts.md)", "model",
                      "initialization (written into the model config; docs/options.md)", "training",
                      "evaluation, checkpoints, logging"]


@pytest.mark.parametrize("task", TASKS)
def test_task_facts_come_from_the_task_table(task):
    spec, parser = TASKS[task], build_parser(task, "")
    defaults = {a.dest: a.default for a in parser._actions}
    assert defaults["model_type"] == spec.model_type and defaults["learning_rate"] == spec.learning_rate
    assert ("text_column_name" in defaults) == ("block_size" in defaults) == ("streaming" in defaults) == spec.text
    assert ("train_dir" in defaults) == ("image_processor_name" in defaults) == (not spec.text)
    assert ("mlm_probability" in defaults) == spec.masked


def test_the_generated_doc_tables_are_up_to_date():
    """docs/scripts.md's "All flags" and docs/options.md's option table are what scripts/docs_tables.py writes
    from the parsers and the option table today."""
    docs_tables = load_script("docs_tables", ROOT / "scripts" / "docs_tables.py")
    assert docs_tables.main(["--check"]) == 0, "run: python scripts/docs_tables.py"


def test_config_overrides_parse_and_reject_malformed_items():
    assert parse_config_overrides("n_layer=2, n_embd=64") == {"n_layer": "2", "n_embd": "64"}
    assert parse_config_overrides(None) == {}
    with pytest.raises(BadInputError, match='expected "key=value,key=value"'):
        parse_config_overrides("n_layer=2,n_embd")


def test_output_dir_rules(tmp_path):
    assert output_dir_problem(str(tmp_path / "new"), False, False) is None
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "x").write_text("x")
    assert "not empty" in output_dir_problem(str(tmp_path / "old"), False, False)
    assert output_dir_problem(str(tmp_path / "old"), True, False) is None
    assert output_dir_problem(str(tmp_path / "old"), False, True) is None  # resuming in place
