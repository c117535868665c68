"""transformers' own model contracts, held by every IDInit class of the registry (issue 17).

The invariants of transformers' ``ModelTesterMixin`` that concern initialization, loading and saving, written
for the registry: a family added to ``idinit_hf.FAMILIES`` is held to them with no edit here. Each holds with
``init_method="idinit"`` and with the flag absent (the IDInit class must then be the stock class in all but name).
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
import transformers
from helpers import NAMES, TEXT, idinit_auto, idinit_class, stock_auto, tiny_config
from safetensors.torch import load_file
from transformers import PreTrainedModel

import idinit_hf
from idinit_hf.families import family_for, tied_embeddings

MODES = {"idinit": {"init_method": "idinit"}, "absent": {}}


def stock_class(cls: type) -> type:
    """The stock class an IDInit class mixes IDInitMixin into."""
    return cls.__mro__[cls.__mro__.index(idinit_hf.IDInitMixin) + 1]


def buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return dict(model.named_buffers())


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def assert_same_tensors(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert sorted(got) == sorted(want)
    changed = [name for name in want if not torch.equal(got[name], want[name])]
    assert not changed, f"changed: {changed}"


# ---- buffers -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_buffers_are_the_constructors_when_the_init_pass_is_skipped(name, mode):
    config = tiny_config(name, **MODES[mode])
    cls = idinit_class(name)
    with mock.patch.object(PreTrainedModel, "_initialize_weights", lambda self, module, is_custom_code=False: None):
        model = cls(config)
    want = buffers(stock_class(cls)(config))
    got = buffers(model)
    assert not any(buffer.is_meta for buffer in got.values())
    assert_same_tensors(got, want)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_meta_build_then_to_empty_and_init_weights_restores_the_buffers(name, mode):
    config = tiny_config(name, **MODES[mode])
    cls = idinit_class(name)
    with torch.device("meta"):
        model = cls(config)
    model.to_empty(device="cpu")
    model.init_weights()
    assert_same_tensors(buffers(model), buffers(stock_class(cls)(config)))


# ---- init passes that must write nothing -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_a_second_post_init_rewrites_nothing(name, mode):
    model = idinit_auto(name).from_config(tiny_config(name, **MODES[mode]))
    before = snapshot(model)
    model.post_init()
    assert_same_tensors(snapshot(model), before)


@pytest.mark.parametrize("change", [10, -6], ids=["grow", "shrink"])
@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied"])
@pytest.mark.parametrize("name", TEXT)
def test_resize_token_embeddings_then_post_init_keeps_every_weight(name, tied, change):
    config = tiny_config(name, init_method="idinit", tie_word_embeddings=tied)
    model = idinit_auto(name).from_config(config)
    size = config.vocab_size + change
    model.resize_token_embeddings(size, mean_resizing=False)
    assert model.get_input_embeddings().weight.shape[0] == size
    before = snapshot(model)
    model.post_init()
    assert_same_tensors(snapshot(model), before)
    output = model.get_output_embeddings()
    if output is not None:  # T5 ties its head whatever the config says (transformers 5.x)
        assert (output.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()) == tied_embeddings(config)


@pytest.mark.parametrize("name", NAMES)
def test_the_constructor_equals_from_pretrained_with_no_weights(name):
    """``from_pretrained(None, state_dict={})`` builds on meta and initializes every weight as missing: under the
    same seed that is exactly the constructor's model (transformers' ``test_can_init_all_missing_weights``)."""
    def changed(cls, config) -> list[str]:
        torch.manual_seed(0)
        constructed = snapshot(cls(config))
        torch.manual_seed(0)
        loaded = cls.from_pretrained(None, config=config, state_dict={})
        assert not any(tensor.is_meta for tensor in loaded.state_dict().values())
        assert sorted(loaded.state_dict()) == sorted(constructed)
        assert idinit_hf.verify(loaded).ok
        return [key for key, value in snapshot(loaded).items() if not torch.equal(value, constructed[key])]

    # T5's own init draws its shared table twice (as an Embedding, then at the model): the values depend on the order
    # modules are visited, so the stock model breaks this contract there too; IDInit may break it nowhere else
    allowed = changed(stock_class(idinit_class(name)), tiny_config(name))
    assert set(changed(idinit_class(name), tiny_config(name, init_method="idinit"))) <= set(allowed)


# ---- class contracts ---------------------------------------------------------------------------------------------
def _generated() -> list[tuple[str, str, str]]:
    """(family, IDInit class name, stock class name) of every generated class (names only: nothing imported)."""
    family_of_stock = {stock: family_for(SimpleNamespace(model_type=model_type)).name
                       for auto in idinit_hf.AUTO_CLASSES
                       for model_type, stock in idinit_hf.models.stock_class_names(auto).items()}
    return [(family_of_stock[stock], name, stock) for name, stock in sorted(idinit_hf.IDINIT_CLASS_NAMES.items())]


GENERATED = _generated()


@pytest.mark.parametrize("family, idinit_name, stock_name", GENERATED, ids=[name for _, name, _ in GENERATED])
def test_generated_classes_show_the_stock_signatures_and_docstrings(family, idinit_name, stock_name):
    cls, stock = getattr(idinit_hf, idinit_name), getattr(transformers, stock_name)
    for method in ("__init__", "forward", "from_pretrained"):
        assert inspect.signature(getattr(cls, method)) == inspect.signature(getattr(stock, method)), method
    assert cls.__init__.__doc__ == stock.__init__.__doc__
    assert cls.__doc__ == stock.__doc__
    assert cls.__name__ == stock.__name__ and cls.__qualname__ == idinit_name


def test_a_subclass_with_its_own_constructor_keeps_it():
    """Only the class that mixes IDInitMixin in gets the stock-signature wrappers: a user's subclass with its own
    ``__init__`` keeps it, and one without inherits the wrapper."""
    base = idinit_class("gpt2")
    calls = []

    class WithOwn(base):
        def __init__(self, config, marker: str = "x"):
            calls.append(marker)
            super().__init__(config)

    class Without(WithOwn):
        pass

    model = Without(tiny_config("gpt2", init_method="idinit"), marker="y")
    assert calls == ["y"] and idinit_hf.verify(model).ok
    assert "marker" in inspect.signature(Without.__init__).parameters


# ---- saving and loading ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_save_then_load_is_bit_identical_in_idinit_and_in_stock_transformers(name, mode, tmp_path):
    model = idinit_auto(name).from_config(tiny_config(name, **MODES[mode]))
    model.save_pretrained(tmp_path)
    want = snapshot(model)
    for auto in (idinit_auto(name), stock_auto(name)):
        loaded = auto.from_pretrained(tmp_path)
        assert_same_tensors(snapshot(loaded), want)
        loaded.post_init()  # nothing loaded is ever rewritten
        assert_same_tensors(snapshot(loaded), want)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_the_saved_keys_are_the_stock_models(name, mode, tmp_path):
    """What is saved honours ``_keys_to_ignore_on_save`` and the tied keys exactly as the stock class does."""
    config = tiny_config(name, **MODES[mode])
    idinit_auto(name).from_config(config).save_pretrained(tmp_path / "idinit")
    stock_auto(name).from_config(tiny_config(name)).save_pretrained(tmp_path / "stock")
    saved = set(load_file(tmp_path / "idinit" / "model.safetensors"))
    assert saved == set(load_file(tmp_path / "stock" / "model.safetensors"))
    ignored = getattr(idinit_auto(name).from_config(config), "_keys_to_ignore_on_save", None) or ()
    assert not saved & set(ignored)


@pytest.mark.parametrize("name", TEXT)
def test_tied_weights_are_tied_after_loading(name, tmp_path):
    model = idinit_auto(name).from_config(tiny_config(name, init_method="idinit", tie_word_embeddings=True))
    if model.get_output_embeddings() is None:
        pytest.skip("no output embeddings")
    model.save_pretrained(tmp_path)
    loaded = idinit_auto(name).from_pretrained(tmp_path)
    assert loaded.get_output_embeddings().weight.data_ptr() == loaded.get_input_embeddings().weight.data_ptr()
