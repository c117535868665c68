"""scripts/pretrain_vit.py for every image family of the registry: the config of each is built from the flags (list
values in --config_overrides, the image side from the config or --image_size), and a tiny ResNet and ConvNeXt train a
few steps under IDInit and reload with stock transformers."""

from __future__ import annotations

import pytest

from idinit_hf import testing
from idinit_hf.training.data.images import image_processor_for, image_side
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.modeling import base_config

from .scripts_helpers import assert_learns, read_log, run_main
from .test_modeling import parse

IMAGE_FAMILIES = [name for name in testing.names() if testing.family(name).modality == "image"]


def overrides(name: str) -> str:
    """The family's tiny example config as --config_overrides (lists in brackets)."""
    def text(value):
        return "[" + ",".join(map(str, value)) + "]" if isinstance(value, list) else str(value)

    return ",".join(f"{key}={text(value)}" for key, value in testing.family(name).example.items()
                    if key not in ("num_labels",))


def flags(name: str) -> list[str]:
    """--model_type and --config_overrides of the family's example; --image_size 8 where the config has no side."""
    config = testing.family(name).example_config()
    side = [] if hasattr(config, "image_size") else ["--image_size", "8"]
    return ["--model_type", testing.family(name).model_types[0], "--config_overrides", overrides(name), *side]


@pytest.mark.parametrize("name", IMAGE_FAMILIES)
def test_the_script_builds_every_image_familys_config_from_its_flags(name):
    config = base_config(parse("vit", *flags(name), "--init_method", "idinit"), "vit")
    example = {key: value for key, value in testing.family(name).example.items() if key != "num_labels"}
    assert config.to_dict() | example == config.to_dict()  # every value of the example is in the config
    args = parse("vit", *flags(name))
    assert image_side(args, config) == 8
    assert image_processor_for(args, config).size == {"height": 8, "width": 8}


def test_an_image_size_flag_that_contradicts_the_config_is_an_error():
    args = parse("vit", *flags("convnext"), "--image_size", "16")
    config = base_config(args, "vit")
    with pytest.raises(BadInputError, match=r"--image_size 16 but model type 'convnext' has image_size=8"):
        image_side(args, config)


def test_a_list_override_must_be_a_list():
    with pytest.raises(BadInputError, match=r"--config_overrides: depths=\[2,2 is not a list"):
        base_config(parse("vit", "--model_type", "resnet", "--config_overrides", "depths=[2,2"), "vit")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet", "convnext"])
def test_a_convolutional_network_trains_under_idinit_and_reloads_with_stock_transformers(name, tmp_path):
    import transformers

    out = tmp_path / name
    run_main("vit", *flags(name), "--init_method", "idinit", "--max_train_steps", "12", "--learning_rate", "1e-2",
             "--eval_steps", "12", "--per_device_train_batch_size", "32", "--max_eval_samples", "64",
             "--output_dir", str(out))
    assert_learns(out)
    assert read_log(out, "eval")[-1]["step"] == 12
    model, info = transformers.AutoModelForImageClassification.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert type(model).__module__.startswith("transformers.") and model.config.init_method == "idinit"
    assert model.config.model_type == name and model.config.num_labels == 10
