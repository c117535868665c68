"""The generated classes and Auto classes (idinit_hf/models.py): with the flag absent or "default" exactly the
stock model, bit for bit; dispatch on the config; stock names so that checkpoints stay stock."""

from functools import partial

import pytest
import torch
import transformers
from helpers import NAMES, family, tiny_config

import idinit_hf

# ---- default init untouched -----------------------------------------------------------------------------------------

def _stock_classes() -> dict[str, tuple]:
    """Every class the registry generates for each family's first model type: name → (family, stock class, config)."""
    out = {}
    for name in NAMES:
        model_type = family(name).model_types[0]
        for auto in idinit_hf.AUTO_CLASSES:
            stock = idinit_hf.models.stock_class_names(auto).get(model_type)
            if stock is not None:
                out[f"IDInit{stock}"] = (name, getattr(transformers, stock), partial(tiny_config, name))
    return out


STOCK = _stock_classes()


@pytest.mark.parametrize("method", [None, "default"])
@pytest.mark.parametrize("family, name", [(spec[0], name) for name, spec in STOCK.items()], ids=list(STOCK))
def test_default_method_gives_exactly_the_stock_weights(family, name, method):
    _, stock_class, make_config = STOCK[name]
    config = make_config() if method is None else make_config(init_method=method)
    torch.manual_seed(42)
    expected = stock_class._from_config(config).state_dict()
    torch.manual_seed(42)
    got = getattr(idinit_hf, name)._from_config(config).state_dict()
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_auto_classes_dispatch_on_the_config():
    assert type(idinit_hf.AutoModelForCausalLM.from_config(family("gpt2").example_config())).__qualname__ == "IDInitGPT2LMHeadModel"
    assert type(idinit_hf.AutoModelForMaskedLM.from_config(family("bert").example_config())).__qualname__ == "IDInitBertForMaskedLM"
    assert type(idinit_hf.AutoModelForImageClassification.from_config(family("vit").example_config())).__qualname__ == "IDInitViTForImageClassification"
    assert type(idinit_hf.AutoModel.from_config(family("vit").example_config())).__qualname__ == "IDInitViTModel"
    assert type(idinit_hf.AutoModelForSequenceClassification.from_config(family("bert").example_config())).__qualname__ == "IDInitBertForSequenceClassification"


def test_classes_keep_the_stock_name_for_config_architectures():
    assert idinit_hf.IDInitGPT2LMHeadModel.__name__ == "GPT2LMHeadModel"


@pytest.mark.parametrize("family, name", [(spec[0], name) for name, spec in STOCK.items()], ids=list(STOCK))
def test_a_generated_class_keeps_the_stock_mro_and_lists_generation_mixin_as_stock_does(family, name):
    """transformers 5.x reads ``GenerationMixin`` in a class's own bases (``can_generate``, its common tests): the
    IDInit class lists it where the stock class does, and its MRO is IDInitMixin's then the stock class's."""
    stock = STOCK[name][1]
    cls = idinit_hf.models.idinit_class(stock)
    assert cls.__mro__[1] is idinit_hf.IDInitMixin and cls.__mro__[2:] == stock.__mro__
    assert (transformers.GenerationMixin in cls.__bases__) == (transformers.GenerationMixin in stock.__bases__)
    assert cls.can_generate() == stock.can_generate()
