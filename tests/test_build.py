"""Building an IDInit model writes every parameter once (idinit_hf/build.py, issue 13): constructed with its
parameters deferred to the meta device and init off (buffers made for real), then each parameter allocated once and
initialized in one pass. Buffers, ties, dtypes and everything verify checks come out as before."""

from __future__ import annotations

import threading

import pytest
import torch
import transformers.initialization as hf_init
from accelerate import init_empty_weights
from helpers import NAMES, idinit_class, tiny, tiny_config
from torch import nn

import idinit_hf
from idinit_hf.build import DeferredBuild
from idinit_hf.roles import Rule


@pytest.mark.parametrize("name", NAMES)
def test_buffers_equal_those_of_a_stock_build(name):
    """Buffers (position ids, RoPE frequencies) are made by the constructor, as in a stock build."""
    fresh = dict(tiny(name, init_method="idinit").named_buffers())
    stock = dict(tiny(name).named_buffers())
    assert fresh.keys() == stock.keys()
    for key in stock:
        assert torch.equal(fresh[key], stock[key]), key


@pytest.mark.parametrize("name", NAMES)
def test_nothing_is_left_on_the_meta_device_and_ties_hold(name):
    model = tiny(name, init_method="idinit")
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    output = model.get_output_embeddings()  # a convolutional model has neither (its get_input_embeddings raises)
    if output is not None and getattr(model.config.get_text_config(), "tie_word_embeddings", False):
        assert output.weight is model.get_input_embeddings().weight
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("name", NAMES)
def test_the_constructor_builds_the_same_way(name):
    config = tiny_config(name, init_method="idinit", idinit_seed=4)
    torch.manual_seed(0)
    by_constructor = idinit_class(name)(config)
    torch.manual_seed(0)
    by_from_config = idinit_class(name)._from_config(config)
    for key, value in by_from_config.state_dict().items():
        assert torch.equal(value, by_constructor.state_dict()[key]), key


def draws(monkeypatch, **config) -> tuple[nn.Module, dict[str, int]]:
    """The family's tiny model and, per parameter name, how often the library's init functions filled it at random."""
    drawn: dict[int, int] = {}
    for fn in ("normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
               "xavier_normal_"):
        original = hf_init.TORCH_INIT_FUNCTIONS[fn]

        def counting(tensor, *args, original=original, **kwargs):
            drawn[tensor.data_ptr()] = drawn.get(tensor.data_ptr(), 0) + 1
            return original(tensor, *args, **kwargs)

        monkeypatch.setitem(hf_init.TORCH_INIT_FUNCTIONS, fn, counting)
    model = tiny(**config)
    return model, {name: drawn.get(p.data_ptr(), 0) for name, p in model.named_parameters()}


@pytest.mark.parametrize("name", NAMES)
def test_role_weights_are_never_drawn_at_random_and_the_rest_once(name, monkeypatch):
    """Count the random fills of the library's init functions per tensor: none on a weight IDInit writes, at most
    one on any other (no constructor-time draw, no default init that IDInit then overwrites), unless the model's own
    ``_init_weights`` draws that tensor twice itself (T5's shared table and relative attention bias, ModernBERT's
    Linear, DINOv2's and ResNet's heads: the base class's normal, then its own), as it does in a stock build."""
    model, drawn = draws(monkeypatch, name=name, init_method="idinit")
    _, stock = draws(monkeypatch, name=name)
    written = {layer.name for layer in idinit_hf.verify(model).layers if layer.rule not in (Rule.DEFAULT, Rule.TIED)}
    assert written and not any(drawn[p] for p in written)
    assert all(count <= max(1, stock[p]) for p, count in drawn.items()), {p: (n, stock[p]) for p, n in drawn.items()}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_is_built_directly(dtype):
    model = tiny("llama", init_method="idinit", dtype=dtype)
    assert {p.dtype for p in model.parameters()} == {dtype} and idinit_hf.verify(model).ok


def test_default_init_keeps_the_stock_construction():
    """init_method="default" never takes this path: its weights are stock bit for bit (test_models)."""
    torch.manual_seed(0)
    a = tiny("gpt2")
    torch.manual_seed(0)
    b = tiny("gpt2", init_method="default")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_build_defers_only_the_parameters_of_its_own_thread():
    """The parameter registration hook is process-global; a model built meanwhile in another thread is untouched."""
    build = DeferredBuild(torch.device("cpu"))
    elsewhere = {}
    with build.deferring():
        thread = threading.Thread(target=lambda: elsewhere.setdefault("linear", nn.Linear(4, 4)))
        thread.start()
        thread.join()
        here = nn.Linear(4, 4)
    assert here.weight.is_meta and not elsewhere["linear"].weight.is_meta
    after = nn.Linear(4, 4)
    assert not after.weight.is_meta


def test_only_what_the_build_deferred_is_allocated():
    """Under accelerate.init_empty_weights() the caller asked for an empty model: it stays on meta."""
    with init_empty_weights():
        model = tiny("llama", init_method="idinit")
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_the_constructor_draws_nothing_at_random(name):
    """A constructor's own draws (ViT's torch.randn class token) are of deferred tensors: they are undone, so
    the generator is where the single init pass left it, whatever the model's constructors do."""
    torch.manual_seed(0)
    tiny(name, init_method="idinit")
    after_build = torch.get_rng_state()
    torch.manual_seed(0)
    with torch.device("meta"):
        model = tiny(name, init_method="idinit")
    model.to_empty(device="cpu")
    model.init_weights()
    assert torch.equal(torch.get_rng_state(), after_build)
