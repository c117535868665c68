"""Options: validation with one clear message per bad value, and round trips through config files."""

import math

import pytest
from helpers import family
from transformers import AutoConfig, GPT2Config

import idinit_hf
from idinit_hf.families import read_options
from idinit_hf.options import OPTIONS, validate_options


def test_absent_init_method_means_default():
    assert read_options(GPT2Config()) is None


def test_idinit_gives_the_documented_defaults():
    options = read_options(GPT2Config(init_method="idinit"))
    # GPT-2's family defaults (docs/defaults.md): Q = 0 (issue 12), a SmallInit token table and replicas of c_fc
    # told apart by a loosening of 0.5 relative to an identity row, on every entry (issue 19)
    assert options == idinit_hf.IDInitOptions(query_scale=0.0, token_table="small", loosening=0.5,
                                              loosening_scale="fan_in", loosening_target="all")
    assert OPTIONS["idinit_tau"] == 1.0 and OPTIONS["idinit_epsilon"] == 1e-6


@pytest.mark.parametrize("model_type, embeddings", [("gpt2", "default"), ("vit", "idi"), ("bert", "idi")])
def test_a_family_default_applies_only_where_the_config_is_silent(model_type, embeddings):
    """BERT's and ViT's embeddings default to IDIτ (docs/defaults.md); a value set in the config always wins."""
    assert read_options(AutoConfig.for_model(model_type, init_method="idinit")).embeddings == embeddings
    for chosen in ("default", "idi"):
        config = AutoConfig.for_model(model_type, init_method="idinit", idinit_embeddings=chosen)
        assert read_options(config).embeddings == chosen


@pytest.mark.parametrize("model_type, query_scale",
                         [("gpt2", 0.0), ("vit", 0.0), ("bert", 1.0), ("olmo2", 0.0), ("llama", 1.0)])
def test_query_scale_family_defaults(model_type, query_scale):
    """Q = 0 for GPT-2, ViT (issue 12) and OLMo 2 (issue 19), Q = I (the paper's reading) for BERT and Llama
    (docs/defaults.md); a value in the config wins."""
    assert read_options(AutoConfig.for_model(model_type, init_method="idinit")).query_scale == query_scale
    config = AutoConfig.for_model(model_type, init_method="idinit", idinit_query_scale=0.5)
    assert read_options(config).query_scale == 0.5


@pytest.mark.parametrize("method", ["IDInit", "idi", "", 1, True])
def test_unknown_init_method_is_rejected_with_allowed_values(method):
    with pytest.raises(ValueError, match=r"config\.init_method=.*allowed: 'default', 'idinit'"):
        validate_options(GPT2Config(init_method=method))


@pytest.mark.parametrize("tau", [0, -1.0, math.nan, math.inf, "1.0", True, None])
def test_bad_tau_is_rejected(tau):
    with pytest.raises(ValueError, match=r"config\.idinit_tau=.*a finite number > 0"):
        validate_options(GPT2Config(init_method="idinit", idinit_tau=tau))


@pytest.mark.parametrize("epsilon", [-1e-6, math.nan, math.inf, "1e-6"])
def test_bad_epsilon_is_rejected(epsilon):
    with pytest.raises(ValueError, match=r"config\.idinit_epsilon=.*a finite number >= 0"):
        validate_options(GPT2Config(init_method="idinit", idinit_epsilon=epsilon))


@pytest.mark.parametrize(("key", "value"), [("idinit_seed", -1), ("idinit_seed", 1.5), ("idinit_loosening", -1.0),
                                            ("idinit_query_scale", -0.5), ("idinit_query_scale", math.nan),
                                            ("idinit_heads", "random"), ("idinit_zero_pattern", 3), ("idinit_query", "random"),
                                            ("idinit_head_loosening_factor", -0.5),
                                            ("idinit_head_loosening_factor", None)])


def test_other_bad_values_name_the_field(key, value):
    with pytest.raises(ValueError, match=rf"config\.{key}="):
        validate_options(GPT2Config(init_method="idinit", **{key: value}))


def test_a_mistyped_option_key_is_an_error():
    with pytest.raises(ValueError, match=r"unknown IDInit option\(s\) \['idinit_taus'\]"):
        validate_options(GPT2Config(init_method="idinit", idinit_taus=2.0))


def test_options_are_validated_even_under_the_default_method():
    with pytest.raises(ValueError, match="idinit_tau"):
        validate_options(GPT2Config(init_method="default", idinit_tau=-1.0))


def test_bad_options_fail_at_model_construction():
    with pytest.raises(ValueError, match="idinit_tau"):
        idinit_hf.AutoModelForCausalLM.from_config(family("gpt2").example_config(init_method="idinit", idinit_tau=0.0))


def test_integer_values_are_accepted_as_floats():
    assert read_options(GPT2Config(init_method="idinit", idinit_tau=2)).tau == 2.0


def test_options_survive_save_and_reload(tmp_path):
    config = family("gpt2").example_config(init_method="idinit", idinit_tau=0.5, idinit_heads="zero", idinit_seed=3)
    config.save_pretrained(tmp_path)
    reloaded = AutoConfig.from_pretrained(tmp_path)
    assert read_options(reloaded) == read_options(config)
    assert '"init_method": "idinit"' in reloaded.to_json_string()
    assert reloaded.model_type == "gpt2"
