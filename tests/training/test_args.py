"""Every IDInit option is a script flag, generated from ``OPTION_SPECS``, and what a flag says reaches the config
of the model the script builds; a flag not given leaves the architecture's own default in force."""

from __future__ import annotations

import argparse

import pytest

from idinit_hf.families import family_for, read_options
from idinit_hf.options import OPTION_SPECS
from idinit_hf.training.args import build_parser, init_options
from idinit_hf.training.modeling import base_config

TASKS = {"clm": "gpt2", "mlm": "bert", "vit": "vit"}
#: a valid value other than the default for each kind, as command-line text and as the config holds it
NON_DEFAULT = {"positive": ("0.5", 0.5), "nonnegative": ("0.001", 1e-3), "seed": ("7", 7)}


def non_default(spec) -> tuple[str, object]:
    if spec.choices:
        value = next(c for c in spec.choices if c != spec.default)
        return value, value
    return NON_DEFAULT[spec.kind]


def parse(task: str, *flags: str) -> argparse.Namespace:
    args = build_parser(task, "").parse_args(["--output_dir", "out", *flags])
    args.task = task
    return args


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("spec", OPTION_SPECS, ids=lambda spec: spec.key)
def test_each_option_flag_reaches_the_model_config(spec, task):
    text, value = non_default(spec)
    config = base_config(parse(task, "--init_method", "idinit", f"--{spec.key}", text), task)
    assert getattr(config, spec.key) == value
    assert getattr(read_options(config), spec.field) == value


@pytest.mark.parametrize("task", TASKS)
def test_flags_not_given_leave_the_config_silent(task):
    """Only given flags are written, so an architecture keeps its own defaults (BERT's and ViT's IDIτ embeddings,
    GPT-2's and ViT's Q = 0: docs/defaults.md)."""
    args = parse(task, "--init_method", "idinit")
    assert init_options(args) == {"init_method": "idinit"}
    config = base_config(args, task)
    assert not [key for key in vars(config) if key.startswith("idinit_")]
    own = dict(family_for(config).option_defaults)
    assert own and all(getattr(read_options(config), field) == value for field, value in own.items())


@pytest.mark.parametrize("spec", OPTION_SPECS, ids=lambda spec: spec.key)
def test_help_gives_each_option_its_allowed_values(spec):
    text = " ".join(build_parser("clm", "").format_help().split())
    assert f"--{spec.key}" in text
    assert " ".join(spec.doc.split()[:3]) in text


def test_the_generated_doc_tables_are_up_to_date():
    """docs/scripts.md's "All flags" and docs/options.md's option table are what scripts/docs_tables.py writes
    from the parsers and the option table today."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "docs_tables.py"
    spec = importlib.util.spec_from_file_location("docs_tables", path)
    docs_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs_tables)
    assert docs_tables.main(["--check"]) == 0, "run: python scripts/docs_tables.py"
