"""Loaded weights are never rewritten; missing ones get IDInit; deferred (meta-device) builds match eager ones."""

from functools import partial

import pytest
import torch
import transformers
from accelerate import init_empty_weights
from helpers import NAMES, family, idinit_class, stock_auto, tiny_config

import idinit_hf

#: family → (IDInit class of its pretraining head, stock Auto class, tiny config), for every family of the registry
CASES = {name: (idinit_class(name), stock_auto(name), partial(tiny_config, name)) for name in NAMES}


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("family", CASES)
def test_saved_idinit_model_reloads_bit_identical_with_stock_transformers(family, tmp_path):
    idinit_class, stock_auto, make_config = CASES[family]
    model = idinit_class(make_config(init_method="idinit"))
    model.save_pretrained(tmp_path)
    reloaded = stock_auto.from_pretrained(tmp_path)
    assert type(reloaded).__module__.startswith("transformers.")
    assert reloaded.config.init_method == "idinit"
    assert_same_state(model, reloaded)


@pytest.mark.parametrize("family", CASES)
def test_idinit_class_never_rewrites_a_full_checkpoint(family, tmp_path):
    """A stock, randomly initialized checkpoint loaded with init_method='idinit' keeps every weight."""
    idinit_class, stock_auto, make_config = CASES[family]
    stock = stock_auto.from_config(make_config())
    stock.save_pretrained(tmp_path)
    loaded = idinit_class.from_pretrained(tmp_path, init_method="idinit")
    assert loaded.config.init_method == "idinit"
    assert_same_state(stock, loaded)


def test_idinit_auto_class_loads_a_checkpoint_bit_identical(tmp_path):
    model = idinit_hf.IDInitViTForImageClassification(family("vit").example_config(init_method="idinit"))
    model.save_pretrained(tmp_path)
    loaded = idinit_hf.AutoModelForImageClassification.from_pretrained(tmp_path)
    assert type(loaded).__qualname__ == "IDInitViTForImageClassification"
    assert_same_state(model, loaded)


def test_missing_classification_head_is_the_only_thing_initialized(tmp_path):
    base = idinit_hf.IDInitBertForMaskedLM(family("bert").example_config(init_method="idinit", idinit_heads="zero"))
    base.save_pretrained(tmp_path)
    classifier = idinit_hf.IDInitBertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)
    saved = base.bert.state_dict()
    for key, value in classifier.bert.state_dict().items():
        if not key.startswith("pooler."):
            assert torch.equal(value, saved[key]), key
    # missing from the MLM checkpoint: the pooler (IDIτ) and the classifier (heads option: zero)
    assert torch.equal(classifier.bert.pooler.dense.weight.detach(), torch.eye(16))
    assert torch.equal(classifier.classifier.weight.detach(), torch.zeros(3, 16))


def test_missing_vit_head_gets_the_head_rule_and_the_loaded_body_is_kept(tmp_path):
    """The classifier a body checkpoint lacks gets IDInit's head rule (ViT: SmallInit), nothing loaded is rewritten."""
    body = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit"))
    body.save_pretrained(tmp_path)
    model = idinit_hf.AutoModelForImageClassification.from_pretrained(tmp_path)
    assert_same_state(body.embeddings, model.vit.embeddings)
    layer = next(layer for layer in idinit_hf.verify(model).layers if layer.name.endswith("classifier.weight"))
    assert layer.rule is idinit_hf.Rule.SMALL and layer.matches


def test_missing_lm_head_is_tied_to_the_loaded_embedding(tmp_path):
    body = idinit_hf.IDInitGPT2Model(family("gpt2").example_config(init_method="idinit"))
    body.save_pretrained(tmp_path)
    model = idinit_hf.AutoModelForCausalLM.from_pretrained(tmp_path)
    assert model.lm_head.weight is model.transformer.wte.weight
    assert torch.equal(model.transformer.wte.weight, body.wte.weight)


def test_stock_saved_vit_checkpoint_loads_with_no_missing_keys(tmp_path):
    """The IDInit classes are not custom code: transformers' key conversion applies as for the stock class."""
    stock = transformers.ViTForImageClassification(family("vit").example_config())
    stock.save_pretrained(tmp_path)
    model, info = idinit_hf.IDInitViTForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert_same_state(stock, model)


@pytest.mark.parametrize("family", CASES)
def test_meta_device_build_then_init_weights_equals_eager_build(family):
    idinit_class, _, make_config = CASES[family]
    config = make_config(init_method="idinit", idinit_seed=11)
    eager = idinit_class(config)
    with torch.device("meta"):
        deferred = idinit_class(config)
    assert all(p.is_meta for p in deferred.parameters())
    deferred.to_empty(device="cpu")
    deferred.init_weights()
    report = idinit_hf.verify(deferred)
    assert report.ok
    ruled = [layer.name for layer in report.layers if layer.matches and layer.rule is not idinit_hf.Rule.TIED]
    assert ruled
    for name in ruled:
        assert torch.equal(deferred.get_parameter(name), eager.get_parameter(name)), name


def test_accelerate_init_empty_weights_then_init():
    config = family("gpt2").example_config(init_method="idinit", idinit_seed=1)
    with init_empty_weights():
        model = idinit_hf.IDInitGPT2LMHeadModel(config)
    model.to_empty(device="cpu")
    model.init_weights()
    assert idinit_hf.verify(model).ok
    assert model.lm_head.weight is model.transformer.wte.weight


def test_to_and_from_bfloat16_keeps_the_patterns():
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit")).to(torch.bfloat16)
    assert torch.equal(model.layers[0].attention.k_proj.weight, torch.eye(16, dtype=torch.bfloat16))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_from_config_in_low_precision(dtype):
    model = idinit_hf.AutoModelForCausalLM.from_config(family("gpt2").example_config(init_method="idinit"), dtype=dtype)
    assert model.dtype == dtype
    assert idinit_hf.verify(model).ok
    assert float(model.transformer.h[0].attn.c_proj.weight.detach()[0, 0]) != 0.0  # ε survives (fp16: as a subnormal)


# ---- architectures with no role table -------------------------------------------------------------------------------
# OLMo 2 ends each branch in a norm (x + norm(f(x))), which would undo IDIZε: no table covers it (docs/method.md).


def test_models_pickle_and_deepcopy():
    import copy
    import pickle

    model = idinit_hf.IDInitGPT2LMHeadModel(family("gpt2").example_config(init_method="idinit"))
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert_same_state(model, clone)
        assert clone.transformer._init_weights.model is clone.transformer


def test_verify_refuses_zero3_partitions_with_a_clear_message():
    model = idinit_hf.IDInitGPT2Model(family("gpt2").example_config(init_method="idinit"))
    weight = model.h[0].attn.c_attn.weight
    weight.ds_numel = weight.numel()  # what DeepSpeed sets; then the local tensor becomes a (0,) placeholder
    weight.data = torch.empty(0)
    with pytest.raises(ValueError, match="GatheredParameters"):
        idinit_hf.verify(model)


def test_a_truncated_checkpoint_raises_instead_of_initializing(tmp_path):
    """IDInit never stands in for weights a damaged file failed to deliver: loading stops with safetensors' error."""
    idinit_hf.AutoModelForCausalLM.from_config(family("gpt2").example_config(init_method="idinit")).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    with open(weights, "r+b") as file:
        file.truncate(weights.stat().st_size // 2)
    with pytest.raises(Exception, match="incomplete metadata|file not fully covered") as error:
        idinit_hf.AutoModelForCausalLM.from_pretrained(tmp_path)
    assert type(error.value).__name__ == "SafetensorError"


def test_a_checkpoint_of_another_shape_raises_unless_mismatches_are_allowed(tmp_path):
    """A config that does not match the checkpoint (n_embd 16 saved, 32 asked) is transformers' error; with
    ignore_mismatched_sizes=True the mismatched weights are re-initialized, by IDInit under IDInit."""
    idinit_hf.AutoModelForCausalLM.from_config(family("gpt2").example_config(init_method="idinit")).save_pretrained(tmp_path)
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):
        idinit_hf.AutoModelForCausalLM.from_pretrained(tmp_path, n_embd=32)
    model = idinit_hf.AutoModelForCausalLM.from_pretrained(tmp_path, n_embd=32, ignore_mismatched_sizes=True)
    assert idinit_hf.verify(model).ok
