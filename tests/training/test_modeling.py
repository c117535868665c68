"""The model config from the flags, and the model (idinit_hf/training/modeling.py): what an ``--idinit_*`` flag
says reaches the config, a flag not given leaves the architecture's own default in force, the task table's head
check, and --config_overrides rebuilding fields derived from the depth."""

from __future__ import annotations

import argparse

import pytest

from idinit_hf.families import family_for, read_options
from idinit_hf.options import OPTION_SPECS
from idinit_hf.training.args import build_parser, init_options
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.modeling import base_config, build_model
from idinit_hf.training.tasks import TASKS

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


@pytest.mark.parametrize("task", TASKS)
def test_each_task_builds_its_head_with_the_task_table_s_auto_class(task, tmp_path):
    """The default model type of each task, tiny, with IDInit: the model is the stock class of the task's head."""
    import transformers

    tiny = {"clm": "n_layer=1,n_embd=16,n_head=2", "mlm": "num_hidden_layers=1,hidden_size=16,num_attention_heads=2,"
            "intermediate_size=32", "vit": "num_hidden_layers=1,hidden_size=16,num_attention_heads=2,"
            "intermediate_size=32,image_size=8,patch_size=4"}[task]
    config = base_config(parse(task, "--init_method", "idinit", "--config_overrides", tiny), task)
    model = build_model(task, config)
    stock = getattr(transformers, TASKS[task].auto_class)._model_mapping[type(config)]
    assert isinstance(model, stock)


@pytest.mark.parametrize("task, model_type", [("clm", "vit"), ("mlm", "llama"), ("vit", "gpt2")])
def test_a_model_type_without_the_task_s_head_is_refused(task, model_type):
    with pytest.raises(BadInputError) as error:
        base_config(parse(task, "--model_type", model_type), task)
    assert str(error.value) == f"model type {model_type!r} has no {TASKS[task].auto_class} head in transformers"


def test_overriding_the_depth_of_a_qwen2_config_recomputes_its_layer_types(tmp_path):
    """Qwen2 derives one ``layer_types`` entry per layer at construction; saving refuses a list of another length,
    so --config_overrides rebuilds the config rather than editing it."""
    config = base_config(parse("clm", "--model_type", "qwen2", "--config_overrides",
                               "num_hidden_layers=3,hidden_size=32,num_attention_heads=4,num_key_value_heads=2"), "clm")
    assert config.num_hidden_layers == 3 and len(config.layer_types) == 3
    config.save_pretrained(tmp_path)
