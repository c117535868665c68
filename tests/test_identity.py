"""At init, IDInit blocks are identity maps (pre-LN) and every branch output is ≈ 0, measured on real inputs."""

import pytest
from conftest import bert_config, gpt2_config, vit_config
from realdata import digits, text_batch

import idinit_hf

TEXT = {"input_ids": text_batch(4, 32)}


def gpt2(**kw):
    return idinit_hf.IDInitGPT2LMHeadModel(gpt2_config(vocab_size=256, n_layer=4, **kw))


def vit(**kw):
    return idinit_hf.IDInitViTForImageClassification(vit_config(num_hidden_layers=4, **kw))


def bert(**kw):
    return idinit_hf.IDInitBertForMaskedLM(bert_config(vocab_size=256, num_hidden_layers=4, **kw))


MODELS = {"gpt2": (gpt2, TEXT), "vit": (vit, {"pixel_values": digits(8)[0]}), "bert": (bert, TEXT)}
#: what "identity at init" means depends on where the norm sits (Family.norm_position)
PRE_LN = {f.name: MODELS[f.name] for f in idinit_hf.FAMILIES if f.norm_position == "pre"}
POST_LN = {f.name: MODELS[f.name] for f in idinit_hf.FAMILIES if f.norm_position == "post"}


@pytest.mark.parametrize("family", PRE_LN)
def test_pre_ln_blocks_are_identity_maps_up_to_epsilon(family):
    assert set(PRE_LN) | set(POST_LN) == {f.name for f in idinit_hf.FAMILIES}  # every family is tested here
    build, inputs = PRE_LN[family]
    report = idinit_hf.identity_report(build(init_method="idinit"), inputs)
    assert len(report.blocks) == 4
    assert report.max_identity_error() <= 1e-4
    assert report.max_branch() <= 1e-4


@pytest.mark.parametrize("family", PRE_LN)
def test_default_init_blocks_are_not_identity_maps(family):
    build, inputs = PRE_LN[family]
    assert idinit_hf.identity_report(build(), inputs).max_identity_error() > 1e-2


@pytest.mark.parametrize("family", PRE_LN)
def test_exact_zero_branches_with_epsilon_zero(family):
    build, inputs = PRE_LN[family]
    report = idinit_hf.identity_report(build(init_method="idinit", idinit_epsilon=0.0), inputs)
    assert report.max_identity_error() == 0.0


@pytest.mark.parametrize("family", POST_LN)
def test_post_ln_branches_are_zero_preserving(family):
    build, inputs = POST_LN[family]
    report = idinit_hf.identity_report(build(init_method="idinit"), inputs)
    assert report.max_branch() <= 1e-4
    # post-LN: a block maps x → LN(LN(x)); the embeddings are already layer-normed, so that is ≈ x
    assert report.max_identity_error() <= 1e-3


def test_identity_attention_concentrates_on_few_keys():
    """Q = K = I: each token attends mostly to tokens like itself; entropy is below the uniform one."""
    report = idinit_hf.identity_report(gpt2(init_method="idinit"), TEXT)
    for block in report.blocks:
        assert 0 < block.attention_entropy < block.uniform_entropy


def test_report_restores_training_mode_and_attention_implementation():
    model = gpt2(init_method="idinit")
    model.train()
    before = model.config._attn_implementation
    idinit_hf.identity_report(model, TEXT)
    assert model.training and model.config._attn_implementation == before


def test_report_prints_one_row_per_block():
    text = str(idinit_hf.identity_report(gpt2(init_method="idinit"), TEXT))
    assert len(text.splitlines()) == 5


@pytest.mark.parametrize("family", PRE_LN)
def test_idinit_pre_ln_blocks_are_dynamically_isometric(family):
    build, inputs = PRE_LN[family]
    for block in idinit_hf.jacobian_spectrum(build(init_method="idinit"), inputs, max_tokens=8):
        assert abs(block.sigma_min - 1) < 1e-3 and abs(block.sigma_max - 1) < 1e-3


def test_default_init_jacobians_spread_more_than_idinit():
    idinit = idinit_hf.jacobian_spectrum(gpt2(init_method="idinit"), TEXT, max_tokens=8)
    default = idinit_hf.jacobian_spectrum(gpt2(), TEXT, max_tokens=8)
    assert len(idinit) == len(default) == 4
    assert max(b.log_spread for b in idinit) < 1e-3 < min(b.log_spread for b in default)

