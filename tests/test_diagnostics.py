"""What a model holds and does at init (idinit_hf/diagnostics.py): ``verify`` layer by layer, and on real inputs
IDInit blocks are identity maps (pre-LN) with every branch output ≈ 0, for every family of the registry (what
"identity at init" means depends on ``Family.norm_position``)."""

import pytest
import torch
from helpers import NAMES, PAPERS_LOOSENING, POST_LN, PRE_LN, family, inputs, tiny
from helpers import family as family_of

import idinit_hf

TEXT = inputs("gpt2")


def build(name: str, **options):
    """The family's example model at 4 blocks (an encoder-decoder: 4 in each stack; a conv net's over its stages)."""
    return tiny(name, depth=4, **options)


#: The method's rule on every branch: a family default may leave a branch's last layer to the library (T5's MLP
#: output, idinit_mlp_out="default"), and then its blocks are no identity at init by design.
PAPERS_BRANCHES = dict(init_method="idinit", idinit_mlp_out="idiz")


def gpt2(**options):
    return build("gpt2", **options)


def test_every_family_is_pre_or_post_ln():
    assert sorted(PRE_LN + POST_LN) == sorted(NAMES)


@pytest.mark.parametrize("family", PRE_LN)
def test_pre_ln_blocks_are_identity_maps_up_to_epsilon(family):
    report = idinit_hf.identity_report(build(family, **PAPERS_BRANCHES), inputs(family))
    assert len(report.blocks) == 4 * family_of(family).stacks
    # 1e-4 per IDIZε branch output (ε = 1e-6 against unit-scale inputs); a mixture's MLP branch sums its top-k
    # routed experts and its shared expert, each that size (DeepSeek-V3's tiny model: 1.2e-4)
    assert report.max_identity_error() <= 3e-4
    assert report.max_branch() <= 3e-4


@pytest.mark.parametrize("family", [name for name in PRE_LN if not family_of(name).identity_by_default])
def test_default_init_blocks_are_not_identity_maps(family):
    # 5x IDInit's bound: BLOOM's default blocks move its layer-normed embeddings by only ~1% (0.008 at width 16);
    # ModernBERT's own init already scales its branch outputs by 0.02/√(2·depth) (its largest block moves x by
    # 8.5e-4 to 1.3e-3 at width 16 over seeds 0-7)
    # mBART's default init (std 0.02 at width 16, branches read the normalized stream) moves x by 0.3% to 0.8%
    assert idinit_hf.identity_report(build(family), inputs(family)).max_identity_error() > 5e-4


@pytest.mark.parametrize("family", [name for name in NAMES if family_of(name).identity_by_default])
def test_a_layer_scale_of_1e_6_makes_the_default_init_nearly_an_identity_already(family):
    assert idinit_hf.identity_report(build(family), inputs(family)).max_identity_error() < 1e-4


@pytest.mark.parametrize("family", PRE_LN)
def test_exact_zero_branches_with_epsilon_zero(family):
    report = idinit_hf.identity_report(build(family, **PAPERS_BRANCHES, idinit_epsilon=0.0), inputs(family))
    assert report.max_identity_error() == 0.0


@pytest.mark.parametrize("family", POST_LN)
def test_post_ln_branches_are_zero_preserving(family):
    report = idinit_hf.identity_report(build(family, init_method="idinit"), inputs(family))
    assert report.max_branch() <= 1e-4
    # post-LN: a block with zero branches maps x ↦ LN(x) (LN(LN(x)) and LN(LN(LN(x))) in a decoder: ≈ LN(x))
    assert report.max_identity_error() <= 1e-4


def test_identity_attention_concentrates_on_few_keys():
    """Q = K = I: each token attends mostly to tokens like itself; entropy is below the uniform one."""
    report = idinit_hf.identity_report(gpt2(init_method="idinit", idinit_query_scale=1.0), TEXT)
    for block in report.blocks:
        assert 0 < block.attention_entropy < block.uniform_entropy


def test_zero_query_attention_is_uniform():
    """Q = 0 (GPT-2's default): every token attends uniformly to the keys it may see."""
    report = idinit_hf.identity_report(gpt2(init_method="idinit"), TEXT)
    for block in report.blocks:
        assert abs(block.attention_entropy - block.uniform_entropy) < 1e-5


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
    for block in idinit_hf.jacobian_spectrum(build(family, **PAPERS_BRANCHES), inputs(family), max_tokens=8):
        assert abs(block.sigma_min - 1) < 1e-3 and abs(block.sigma_max - 1) < 1e-3


def test_default_init_jacobians_spread_more_than_idinit():
    idinit = idinit_hf.jacobian_spectrum(gpt2(init_method="idinit"), TEXT, max_tokens=8)
    default = idinit_hf.jacobian_spectrum(gpt2(), TEXT, max_tokens=8)
    assert len(idinit) == len(default) == 4
    assert max(b.log_spread for b in idinit) < 1e-3 < min(b.log_spread for b in default)


# ---- verify() -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_verify_passes_on_a_fresh_idinit_model(name):
    report = idinit_hf.verify(tiny(name, init_method="idinit"))
    assert report.ok and all(report.by_role(role) for role in family(name).branch_roles)


def test_verify_names_a_layer_that_deviates():
    model = idinit_hf.IDInitGPT2LMHeadModel(family("gpt2").example_config(init_method="idinit"))
    with torch.no_grad():
        model.transformer.h[1].mlp.c_proj.weight[0, 0] += 1e-3
    failures = idinit_hf.verify(model).failures()
    assert [f.name for f in failures] == ["transformer.h.1.mlp.c_proj.weight"]
    assert failures[0].max_abs_diff == pytest.approx(1e-3, rel=1e-3)
    assert "1 mismatches" in str(idinit_hf.verify(model))


def test_verify_of_a_default_model_is_empty():
    assert idinit_hf.verify(idinit_hf.IDInitGPT2LMHeadModel(family("gpt2").example_config())).layers == []


# ---- replica_spread: how far an up-projection's replicated rows have come apart ---------------------------------------


def test_replica_spread_of_stacked_identities_is_zero():
    assert idinit_hf.replica_spread(idinit_hf.idi_(torch.empty(12, 4))) == 0.0


def test_replica_spread_measures_the_loosening_relative_to_tau():
    matrix = idinit_hf.loosen_(idinit_hf.idi_(torch.empty(2048, 256)), 1e-2, generator=torch.Generator().manual_seed(0))
    # each replica differs from its original in one entry by N(0, 2·(1e-2)²): mean |difference| = 2e-2/√π ≈ 0.0113
    assert 0.010 < idinit_hf.replica_spread(matrix) < 0.0125


def test_replica_spread_of_independent_rows_is_about_sqrt_2():
    matrix = torch.randn(4096, 64, generator=torch.Generator().manual_seed(0))
    assert idinit_hf.replica_spread(matrix) == pytest.approx(2**0.5, rel=0.02)


@pytest.mark.parametrize("shape", [(4, 4), (4, 8)])
def test_replica_spread_is_nan_without_replicas(shape):
    assert idinit_hf.replica_spread(torch.eye(*shape)) != idinit_hf.replica_spread(torch.eye(*shape))


TALL_MLP = [name for name in NAMES if idinit_hf.replica_report(build(name))]


def test_most_families_have_a_tall_mlp_in_weight():
    assert {"gpt2", "llama", "bert", "vit", "t5", "convnext"} <= set(TALL_MLP)


@pytest.mark.parametrize("name", TALL_MLP)
def test_the_papers_loosening_starts_up_projections_as_tied_replicas(name):
    model = build(name, init_method="idinit", **PAPERS_LOOSENING)  # GPT-2's and Llama's default is larger (issue 19)
    assert max(spread for _, spread in idinit_hf.replica_report(model)) < 1e-4  # 1e-6 relative to τ = 1


@pytest.mark.parametrize("name", TALL_MLP)
def test_loosening_on_every_entry_sets_the_replica_spread(name):
    model = build(name, init_method="idinit", idinit_loosening=0.1, idinit_loosening_target="all")
    assert min(spread for _, spread in idinit_hf.replica_report(model)) > 0.1
