"""ModernBERT, role by role: the fused Wqkv (Q | K | V), the stacked Wi (the activated half | the linear half, the
first following idinit_gate), both Wo zero-preserving, the first block without an attention norm, alternating global
and sliding-window attention, and every block the identity at init."""

import pytest
import torch
from helpers import (
    EPS,
    PAPERS_LOOSENING,
    assert_default_random,
    assert_loosened_identity,
    assert_replicas_loosened_apart,
    assert_small_init,
    attention_out_pattern,
    eye,
    inputs,
)

import idinit_hf
from idinit_hf.families.modernbert import MODERNBERT
from idinit_hf.testing import tiny_config

D, HALF = 16, 24  # the example: width 16, MLP halves of 24 rows (not a multiple of the width)


def build(**options):
    return idinit_hf.AutoModelForMaskedLM.from_config(MODERNBERT.example_config(init_method="idinit", **options))


def test_example_has_local_and_global_attention_and_no_first_attention_norm():
    model = build()
    assert model.config.layer_types == ["full_attention", "sliding_attention"]
    assert model.config.local_attention < model.config.max_position_embeddings
    assert isinstance(model.model.layers[0].attn_norm, torch.nn.Identity)


def test_wqkv_query_is_small_init_key_and_value_identities():
    """ModernBERT's family default idinit_query="small" (issue 19): the query block of Wqkv is SmallInit, the key
    and value blocks IDIτ, Wo IDIZε (the block is the identity at init whatever the query holds)."""
    model = build()
    for layer in model.model.layers:
        query, key, value = layer.attn.Wqkv.weight.detach().split(D)
        assert_small_init(query)
        assert torch.equal(key, eye(D)) and torch.equal(value, eye(D))
        assert torch.equal(layer.attn.Wo.weight.detach(), attention_out_pattern(D))
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("query_scale", [1.0, 0.0])
def test_wqkv_holds_an_identity_per_projection_the_query_scaled_with_query_idi(query_scale):
    for layer in build(idinit_query="idi", idinit_query_scale=query_scale).model.layers:
        query, key, value = layer.attn.Wqkv.weight.detach().split(D)
        assert torch.equal(query, query_scale * eye(D))
        assert torch.equal(key, eye(D)) and torch.equal(value, eye(D))
        assert torch.equal(layer.attn.Wo.weight.detach(), attention_out_pattern(D))


def test_wi_halves_are_each_a_loosened_identity_and_wo_is_idiz():
    for layer in build(**PAPERS_LOOSENING).model.layers:
        activated, linear = layer.mlp.Wi.weight.detach().split(HALF)
        assert_loosened_identity(activated)
        assert_loosened_identity(linear)
        want = torch.zeros(D, HALF)  # IDIZε 16 x 24: [εI | −ε IDI of 16 x 8]: row m reads replica 16 + m mod 8
        want[:, :D] = EPS * eye(D)
        want[torch.arange(D), D + torch.arange(D) % (HALF - D)] = -EPS
        assert torch.equal(layer.mlp.Wo.weight.detach(), want)


def test_the_gate_option_leaves_the_activated_half_to_the_librarys_distribution():
    """idinit_gate="default": the activated half is N(0, initializer_range²), drawn from the parameter's own seeded
    generator (so verify rebuilds it), the linear half stays IDIτ."""
    model = build(idinit_gate="default", **PAPERS_LOOSENING)
    activated, linear = model.model.layers[0].mlp.Wi.weight.detach().split(HALF)
    assert_default_random(activated, std=model.config.initializer_range)
    assert_loosened_identity(linear)
    assert idinit_hf.verify(model).ok
    again = build(idinit_gate="default", idinit_seed=torch.initial_seed(), **PAPERS_LOOSENING)
    assert torch.equal(again.model.layers[0].mlp.Wi.weight, model.model.layers[0].mlp.Wi.weight)


def test_replicas_start_apart_under_the_family_loosening():
    """ModernBERT's family default (issue 19, LOOSENED_REPLICAS): N(0, (0.5/√d)²) on every entry of each tall IDIτ
    (both halves of Wi, the tied token table) around its stacked identities; the square Wqkv blocks and the outputs
    keep their exact patterns."""
    model = build()
    activated, linear = model.model.layers[0].mlp.Wi.weight.detach().split(HALF)
    table = model.get_input_embeddings().weight.detach()
    for name, weight in {"activated": activated, "linear": linear, "table": table}.items():
        assert_replicas_loosened_apart(weight, tol=0.2, name=name)  # 384 to 1024 draws
    query, key, value = model.model.layers[0].attn.Wqkv.weight.detach().split(D)
    assert torch.equal(key, eye(D)) and torch.equal(value, eye(D))
    assert idinit_hf.verify(model).ok


def test_every_block_is_the_identity_with_sliding_windows_on_real_text():
    config = tiny_config("modernbert", depth=4, init_method="idinit")
    model = idinit_hf.AutoModelForMaskedLM.from_config(config)
    assert "sliding_attention" in model.config.layer_types and config.local_attention < config.max_position_embeddings
    report = idinit_hf.identity_report(model, inputs("modernbert"))
    assert len(report.blocks) == 4 and report.max_identity_error() <= 1e-4 and report.max_branch() <= 1e-4
