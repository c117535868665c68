"""The flag alone: after ``idinit_hf.install()`` transformers' own Auto classes honour ``init_method="idinit"``;
``apply_`` rewrites a model built elsewhere; ``python -m idinit_hf`` runs unmodified scripts."""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from helpers import NAMES, family, stock_auto, tiny_config

import idinit_hf
from idinit_hf.families import UnsupportedArchitectureError


@pytest.fixture(autouse=True)
def _stock_afterwards():
    """Every test leaves transformers as it found it."""
    yield
    idinit_hf.uninstall()


def built(auto, config, seed=0):
    torch.manual_seed(seed)
    return auto.from_config(config)


def assert_same_tensors(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_import_alone_changes_nothing():
    config = tiny_config("gpt2", init_method="idinit")
    model = built(transformers.AutoModelForCausalLM, config)
    assert type(model) is transformers.GPT2LMHeadModel and not idinit_hf.installed()
    assert not idinit_hf.verify(model).ok  # the stock class ignores the flag: random weights, and verify says so


@pytest.mark.parametrize("name", NAMES)
def test_installed_stock_auto_equals_idinit_auto(name):
    config = tiny_config(name, init_method="idinit", idinit_seed=3)
    idinit_hf.install()
    model = built(stock_auto(name), config)
    assert idinit_hf.verify(model).ok
    assert_same_tensors(model, built(getattr(idinit_hf, family(name).pretraining), config))


@pytest.mark.parametrize("method", [None, "default"])
@pytest.mark.parametrize("name", NAMES)
def test_installed_default_init_is_stock_bit_for_bit(name, method):
    config = tiny_config(name) if method is None else tiny_config(name, init_method=method)
    stock = built(stock_auto(name), config)
    idinit_hf.install()
    assert_same_tensors(built(stock_auto(name), config), stock)


def test_install_is_idempotent_and_uninstall_restores_stock():
    config = tiny_config("llama", init_method="idinit")
    idinit_hf.install()
    idinit_hf.install()
    assert idinit_hf.verify(built(transformers.AutoModelForCausalLM, config)).ok
    idinit_hf.uninstall()
    model = built(transformers.AutoModelForCausalLM, config)
    assert type(model) is transformers.LlamaForCausalLM and not idinit_hf.installed()


def test_uninstall_puts_back_a_registration_made_before():
    class Mine(transformers.GPT2LMHeadModel):
        pass

    transformers.AutoModelForCausalLM.register(transformers.GPT2Config, Mine, exist_ok=True)
    try:
        idinit_hf.install()
        idinit_hf.uninstall()
        assert type(transformers.AutoModelForCausalLM.from_config(tiny_config("gpt2"))) is Mine
    finally:  # uninstall first: it would put Mine back, as what install() found registered
        idinit_hf.uninstall()
        transformers.AutoModelForCausalLM._model_mapping._extra_content.pop(transformers.GPT2Config, None)


def test_a_registration_made_between_two_installs_is_the_one_extended():
    """install() remembers transformers' own tables, never a registration: one made after an earlier install() and
    uninstall() is the class the next install() extends (idinit_hf/install.py, ``_stock_class``)."""
    class Mine(transformers.GPT2LMHeadModel):
        pass

    idinit_hf.install()
    idinit_hf.uninstall()
    transformers.AutoModelForCausalLM.register(transformers.GPT2Config, Mine, exist_ok=True)
    try:
        idinit_hf.install()
        model = built(transformers.AutoModelForCausalLM, tiny_config("gpt2", init_method="idinit"))
        assert isinstance(model, Mine) and isinstance(model, idinit_hf.IDInitMixin) and idinit_hf.verify(model).ok
        idinit_hf.uninstall()
        assert type(transformers.AutoModelForCausalLM.from_config(tiny_config("gpt2"))) is Mine
    finally:  # uninstall first: it would put Mine back, as what install() found registered
        idinit_hf.uninstall()
        transformers.AutoModelForCausalLM._model_mapping._extra_content.pop(transformers.GPT2Config, None)
    idinit_hf.install()  # the registration gone, the stock class is the one extended again
    model = built(transformers.AutoModelForCausalLM, tiny_config("gpt2", init_method="idinit"))
    assert isinstance(model, transformers.GPT2LMHeadModel) and not isinstance(model, Mine) and idinit_hf.verify(model).ok


@pytest.mark.parametrize("name", NAMES)
def test_checkpoints_saved_under_install_stay_stock(name, tmp_path):
    idinit_hf.install()
    model = built(stock_auto(name), tiny_config(name, init_method="idinit"))
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == [type(model).__name__]
    assert type(model).__name__ in dir(transformers)  # the stock class's name
    idinit_hf.uninstall()
    reloaded = stock_auto(name).from_pretrained(tmp_path)
    assert type(reloaded).__module__.startswith("transformers.")
    assert_same_tensors(model, reloaded)


def test_from_pretrained_under_install_rewrites_nothing_and_fills_only_missing_keys(tmp_path):
    stock = transformers.BertForMaskedLM(tiny_config("bert"))
    stock.save_pretrained(tmp_path)
    idinit_hf.install()
    loaded = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path, init_method="idinit")
    assert_same_tensors(stock, loaded)
    classifier = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path, init_method="idinit",
                                                                                  num_labels=3)
    assert torch.equal(classifier.bert.pooler.dense.weight.detach(), torch.eye(16))  # missing: IDIτ
    assert torch.equal(classifier.bert.encoder.layer[0].attention.self.query.weight, stock.bert.encoder.layer[0].attention.self.query.weight)


# ---- apply_ -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_apply_gives_a_stock_model_idinit_weights(name):
    model = built(stock_auto(name), tiny_config(name))
    assert idinit_hf.apply_(model, idinit_seed=5) is model
    report = idinit_hf.verify(model)
    assert report.ok and any(layer.matches for layer in report.layers)
    assert model.config.init_method == "idinit" and model.config.idinit_seed == 5


def test_apply_equals_building_with_the_flag():
    config = tiny_config("gpt2", idinit_seed=9)
    applied = idinit_hf.apply_(built(transformers.AutoModelForCausalLM, config), tau=0.5)
    direct = built(idinit_hf.AutoModelForCausalLM, tiny_config("gpt2", init_method="idinit", idinit_seed=9,
                                                                   idinit_tau=0.5))
    for layer in idinit_hf.verify(direct).layers:
        if layer.matches and layer.rule is not idinit_hf.Rule.TIED:  # tied: the embedding's random init
            assert torch.equal(applied.get_parameter(layer.name), direct.get_parameter(layer.name)), layer.name


def test_apply_overwrites_loaded_weights(tmp_path):
    transformers.GPT2LMHeadModel(tiny_config("gpt2")).save_pretrained(tmp_path)
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path)
    idinit_hf.apply_(model)
    assert idinit_hf.verify(model).ok
    assert all(layer.matches for layer in idinit_hf.verify(model).layers if layer.rule is idinit_hf.Rule.IDI)


def test_apply_refuses_an_architecture_with_no_role_table():
    """A state-space model has no attention / MLP residual branches, hence no role table."""
    model = transformers.MambaForCausalLM(transformers.MambaConfig(
        hidden_size=16, num_hidden_layers=1, vocab_size=32, state_size=4, expand=2))
    with pytest.raises(UnsupportedArchitectureError, match="no role table for model_type='mamba'; supported: 'gpt2'"):
        idinit_hf.apply_(model)
    with pytest.raises(UnsupportedArchitectureError, match="no role table"):
        idinit_hf.apply_(model, unsupported="default")
    assert getattr(model.config, "init_method", None) is None  # nothing recorded


@pytest.mark.parametrize("options, message", [
    ({"tau": 0}, r"config\.idinit_tau=0 is not allowed; expected a finite number > 0"),
    ({"idinit_heads": "random"}, r"config\.idinit_heads='random' is not allowed"),
    ({"taus": 1.0}, r"unknown IDInit option\(s\) \['idinit_taus'\]"),
])


def test_apply_refuses_bad_options_with_the_config_path_message(options, message):
    model = built(transformers.AutoModelForCausalLM, tiny_config("gpt2"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        idinit_hf.apply_(model, **options)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing written
