"""The public test utilities (idinit_hf/testing.py): tiny configs of every family at any size, fitted to real data,
and batches of that data for the family's objective — what the tests, the benchmarks and check_gpu build."""

import pytest
import torch
from helpers import NAMES, REPRESENTATIVES, family, layout_axes

from idinit_hf import testing
from idinit_hf.objectives import DataShape


@pytest.mark.parametrize("name", NAMES)
def test_without_a_size_the_config_is_the_familys_example_fitted_to_the_data(name):
    fam = family(name)
    want = fam.example_config(**fam.fit(testing.data_shape(name))).to_dict()
    assert testing.tiny_config(name).to_dict() == want


@pytest.mark.parametrize("name", NAMES)
def test_the_examples_are_the_size_tiny_config_scales_from(name):
    fam = family(name)
    example = fam.example_config()
    scaled = fam.example_config(**fam.scale(testing.EXAMPLE_DEPTH, testing.EXAMPLE_WIDTH))
    assert fam.width_of(example) == fam.width_of(scaled) == testing.EXAMPLE_WIDTH
    assert fam.depth_of(example) == fam.depth_of(scaled) == testing.EXAMPLE_DEPTH


@pytest.mark.parametrize("name", NAMES)
def test_overrides_and_init_options_come_last(name):
    config = testing.tiny_config(name, depth=3, width=32, init_method="idinit", idinit_tau=0.5)
    assert config.init_method == "idinit" and config.idinit_tau == 0.5 and family(name).width_of(config) == 32


def test_text_fits_bytes_plus_the_objectives_own_tokens():
    assert testing.data_shape("gpt2", length=48) == DataShape(vocab_size=256, length=48)
    assert testing.tiny_config("gpt2", data=testing.data_shape("gpt2", length=48)).n_positions == 48
    assert testing.tiny_config("bert").vocab_size == 258  # [MASK] and [PAD] after the 256 bytes


def test_images_fit_their_side_channels_and_classes():
    config = testing.tiny_config("vit", data=DataShape(image_size=28, channels=1, classes=10))
    assert (config.image_size, config.num_channels, config.num_labels) == (28, 1, 10)


def test_real_data_is_the_reference_text_and_the_digits():
    text = testing.text_bytes(64)
    assert text.dtype == torch.long and 0 <= int(text.min()) and int(text.max()) < 256
    assert bytes(text.tolist()).decode("utf-8")  # real UTF-8 prose
    images, labels = testing.digits(10)
    assert images.shape == (10, 1, 8, 8) and -1 <= float(images.min()) and float(images.max()) <= 1
    assert set(labels.tolist()) <= set(range(10))


@pytest.mark.parametrize("name", NAMES)
def test_training_batches_are_deterministic_and_move_on(name):
    first, again = testing.training_batches(name)(0), testing.training_batches(name)(0)
    second = testing.training_batches(name)(1)
    key = next(iter(first))
    assert torch.equal(first[key], again[key]) and not torch.equal(first[key], second[key])
    assert set(first) == set(testing.inputs(name)) | {"labels"}


def test_the_representatives_hold_every_layout_axis_of_the_registry():
    """The quick tier and the multi-process tests run the representatives only: together they must exercise
    every layout axis some family of the registry has (a new axis needs a representative in tests/helpers.py)."""
    assert set(REPRESENTATIVES) <= set(NAMES) and len(set(REPRESENTATIVES)) == len(REPRESENTATIVES)
    covered = set().union(*(layout_axes(name) for name in REPRESENTATIVES))
    missing = {name: sorted(layout_axes(name) - covered, key=str) for name in NAMES}
    assert {name: axes for name, axes in missing.items() if axes} == {}

