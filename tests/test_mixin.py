"""How the rules reach every nested submodel (idinit_hf/mixin.py): the plan resolved once per model, nested stock
models dispatched per instance, nested flags cleared only while the model is being built, and ``to_empty``."""

import pytest
import torch
from helpers import NAMES, assert_same_tensors, idinit_class, snapshot, tiny, tiny_config
from transformers import PreTrainedModel

import idinit_hf
from idinit_hf.mixin import init_plan, prepare_model
from idinit_hf.patterns import INITIALIZED_FLAG


@pytest.mark.parametrize("name", NAMES)
def test_the_plan_is_resolved_once_for_the_model(name):
    model = tiny(name, init_method="idinit")
    plan = init_plan(model)
    assert plan is not None and plan.family.name == name and init_plan(tiny(name)) is None


@pytest.mark.parametrize("name", NAMES)
def test_nested_stock_models_dispatch_to_idinit_per_instance(name):
    model = tiny(name, init_method="idinit")
    nested = [m for m in model.modules() if isinstance(m, PreTrainedModel) and m is not model]
    for submodel in nested:
        assert "_init_weights" in vars(submodel)  # an instance attribute: the class stays stock
        assert type(submodel)._init_weights is not vars(submodel)["_init_weights"]


def test_a_later_prepare_clears_no_flag():
    """While the model is built, the flags the nested models' own post_init left are cleared so the outer pass
    visits them; afterwards (a post_init after resize_token_embeddings) a flag means "kept" and stays."""
    model = tiny("llama", init_method="idinit", tie_word_embeddings=False)
    flagged = [m for m in model.modules() if getattr(m, INITIALIZED_FLAG, False)]
    assert flagged
    prepare_model(model)
    assert all(getattr(m, INITIALIZED_FLAG, False) for m in flagged)


def test_to_empty_forgets_the_flags_so_init_weights_writes_everything():
    model = tiny("gpt2", init_method="idinit")
    want = snapshot(model)
    model.to_empty(device="cpu")
    assert not any(hasattr(m, INITIALIZED_FLAG) for m in model.modules())
    torch.manual_seed(0)
    model.init_weights()
    assert idinit_hf.verify(model).ok
    got = snapshot(model)
    roles = {layer.name for layer in idinit_hf.verify(model).layers if layer.matches}
    assert_same_tensors({k: got[k] for k in roles}, {k: want[k] for k in roles})


def tied_groups(model: torch.nn.Module) -> list[list[str]]:
    """The names of each parameter the model holds under more than one name."""
    names: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)
    return sorted(group for group in names.values() if len(group) > 1)


@pytest.mark.parametrize("name", NAMES)
def test_to_empty_from_meta_keeps_tied_weights_tied(name):
    """torch's to_empty from meta gives each place of a tied weight its own tensor; the init pass must see the ties
    a real build sees (T5's alias tables), so they are shared again."""
    with torch.device("meta"):
        model = tiny(name, init_method="idinit")
    before = tied_groups(model)
    model.to_empty(device="cpu")
    assert tied_groups(model) == before
    assert not any(p.is_meta for p in model.parameters())


def test_a_user_class_mixes_it_in():
    stock = idinit_class("gpt2").__mro__[2]

    class Mine(idinit_hf.IDInitMixin, stock):
        pass

    model = Mine(tiny_config("gpt2", init_method="idinit"))
    assert idinit_hf.verify(model).ok and Mine.__name__ == "Mine"
