"""The Llama family, role by role: what every layer holds after from_config (GQA, a gated MLP, an intermediate
size that is not a multiple of the width, Qwen2's biases, Qwen3's q/k norms, tied and untied heads), and every
model type of the installed transformers with exactly the Llama layout is covered."""

from __future__ import annotations

import pytest
import torch
from helpers import (
    PAPERS_LOOSENING,
    assert_replicas_loosened_apart,
    family,
    inputs,
    model_type_sweep,
    stacked_identity,
)
from layouts import tiny_causal_lm  # the meta models the other layout scans read too (built once)
from transformers import AutoConfig
from transformers.models.auto import modeling_auto

import idinit_hf
from idinit_hf.families import LLAMA

EPS = 1e-6
D, HEADS, KV, HIDDEN = 16, 4, 2, 40  # the family's example config: head_dim 4, 2 query heads per key/value head
HEAD_DIM, GROUP = D // HEADS, HEADS // KV


def build(model_type: str = "llama", **options):
    config = LLAMA.example_config(model_type, vocab_size=256, init_method="idinit", **options)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def attention(model, layer=0):
    return model.model.layers[layer].self_attn


def test_example_config_has_gqa_and_an_odd_intermediate_size():
    config = LLAMA.example_config()
    assert config.num_key_value_heads < config.num_attention_heads and config.intermediate_size % config.hidden_size


def test_query_and_mlp_in_are_identities_and_outputs_are_idiz():
    model = build(**PAPERS_LOOSENING)
    for layer in model.model.layers:
        assert torch.equal(layer.self_attn.q_proj.weight.detach(), torch.eye(D))
        assert torch.equal(layer.self_attn.o_proj.weight.detach(), EPS * (torch.eye(D) - torch.eye(D).roll(1, 1)))
        up = layer.mlp.up_proj.weight.detach()  # 40 x 16: two identities and the first 8 rows of a third
        assert torch.equal(up.round(decimals=3), stacked_identity(HIDDEN, D))
        assert torch.equal(layer.mlp.gate_proj.weight.detach().round(decimals=3), up.round(decimals=3))
        down = layer.mlp.down_proj.weight.detach()
        want = torch.zeros(D, HIDDEN)  # IDIZε 16 x 40: [εI | −εI | 0]; up's rows 32-39 are not read at init
        want[:, :D] = EPS * torch.eye(D)
        want[:, D : 2 * D] = -EPS * torch.eye(D)
        assert torch.equal(down, want)


def test_replicated_up_rows_are_loosened():
    up = build(**PAPERS_LOOSENING).model.layers[0].mlp.up_proj.weight.detach()
    assert not torch.equal(up[:D], up[D : 2 * D]) and (up[:D] - up[D : 2 * D]).abs().max() < 1e-4


def test_replicas_start_apart_under_the_family_loosening():
    """Llama's family default (issue 19, LOOSENED_REPLICAS): N(0, (0.5/√d)²) on every entry of each tall IDIτ (gate,
    up, the untied IDIτ head) around its stacked identities; the square query and the outputs keep their exact
    patterns."""
    model = build()
    layer = model.model.layers[0]
    tall = {"gate": layer.mlp.gate_proj.weight, "up": layer.mlp.up_proj.weight, "head": model.lm_head.weight}
    for name, weight in tall.items():
        assert weight.shape[1] == D
        assert_replicas_loosened_apart(weight.detach(), tol=0.15, name=name)  # 640 to 4096 draws
    assert not torch.equal(layer.mlp.gate_proj.weight, layer.mlp.up_proj.weight)  # drawn apart
    assert torch.equal(layer.self_attn.q_proj.weight.detach(), torch.eye(D))
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("rule, key_head_reads", [("repeat", [0, 1]), ("group", [0, 2])])
def test_gqa_key_value_rows(rule, key_head_reads):
    """Key/value head g reads the input dims of query head g (repeat) or of query head g·group (group)."""
    model = build(idinit_gqa=rule)
    for name in ("k_proj", "v_proj"):
        weight = getattr(attention(model), name).weight.detach()
        assert weight.shape == (KV * HEAD_DIM, D)
        want = torch.zeros(KV * HEAD_DIM, D)
        for g, head in enumerate(key_head_reads):
            want[g * HEAD_DIM : (g + 1) * HEAD_DIM, head * HEAD_DIM : (head + 1) * HEAD_DIM] = torch.eye(HEAD_DIM)
        assert torch.equal(weight, want), name


def test_group_rule_lines_every_key_head_up_with_the_first_query_head_that_uses_it():
    """With ``group``, q·k of query head g·group and its key head is x·x on the same dims: a real match."""
    model = build(idinit_gqa="group")
    q, k = attention(model).q_proj.weight.detach(), attention(model).k_proj.weight.detach()
    for g in range(KV):
        query_head = q[g * GROUP * HEAD_DIM : (g * GROUP + 1) * HEAD_DIM]
        assert torch.equal(query_head, k[g * HEAD_DIM : (g + 1) * HEAD_DIM])


def test_gate_option_leaves_the_gate_to_the_library():
    model = build(idinit_gate="default")
    gate = model.model.layers[0].mlp.gate_proj.weight.detach()
    assert 0.01 < float(gate.std()) < 0.03  # normal(0, initializer_range = 0.02)
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("tied", [False, True])
def test_lm_head_untied_follows_the_heads_option_and_tied_shares_the_embedding(tied):
    model = build(tie_word_embeddings=tied, idinit_heads="zero")
    if tied:
        assert model.lm_head.weight is model.model.embed_tokens.weight
    else:
        assert torch.equal(model.lm_head.weight.detach(), torch.zeros(256, D))
    assert idinit_hf.verify(model).ok


def test_qwen2_biases_are_zero():
    attn = attention(build("qwen2"))
    for name in ("q_proj", "k_proj", "v_proj"):
        assert torch.equal(getattr(attn, name).bias.detach(), torch.zeros_like(getattr(attn, name).bias))


def test_qwen3_qk_norms_keep_the_library_default():
    attn = attention(build("qwen3"))
    assert torch.equal(attn.q_norm.weight.detach(), torch.ones(HEAD_DIM))
    assert torch.equal(attn.k_norm.weight.detach(), torch.ones(HEAD_DIM))


def test_norms_and_embeddings_keep_the_library_default():
    model = build()
    assert torch.equal(model.model.norm.weight.detach(), torch.ones(D))
    assert 0.01 < float(model.model.embed_tokens.weight.detach().std()) < 0.03


# ---- coverage: every model type with exactly the Llama layout -----------------------------------------------------

LAYER = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
         "mlp.up_proj", "mlp.down_proj"}
LAYER_OPTIONAL = {"self_attn.q_norm", "self_attn.k_norm", "input_layernorm", "post_attention_layernorm"}
OUTSIDE = {"model.embed_tokens.weight", "model.norm.weight", "model.norm.bias", "lm_head.weight"}


def llama_layout(model, model_type: str) -> bool:
    """Decoder layers that hold the Llama projections and norms and nothing else; nothing outside them but the
    embedding, the final norm and the LM head. (Parallel blocks, Cohere, have no post_attention_layernorm.)"""
    if model.config.model_type != model_type:
        return False  # built from the text part of a multimodal config (Emu3): not this table's job
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        return False
    for layer in layers:
        if not (hasattr(layer, "input_layernorm") and hasattr(layer, "post_attention_layernorm")):
            return False
        held = {name.rpartition(".")[0] for name, _ in layer.named_parameters()}
        if not LAYER <= held <= LAYER | LAYER_OPTIONAL:
            return False
    return {name for name, _ in model.named_parameters() if not name.startswith("model.layers.")} <= OUTSIDE


@pytest.mark.slow
def test_every_llama_layout_model_type_is_covered():
    found = {t for t in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
             if (model := tiny_causal_lm(t)) is not None and llama_layout(model, t)}
    assert found == set(LLAMA.model_types), (sorted(found - set(LLAMA.model_types)),
                                             sorted(set(LLAMA.model_types) - found))


@pytest.mark.parametrize("model_type", model_type_sweep(LLAMA.model_types))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(model_type):
    model = build(model_type)
    report = idinit_hf.verify(model)
    written = [layer for layer in report.layers if layer.rule not in (idinit_hf.Rule.DEFAULT, idinit_hf.Rule.TIED)]
    assert len(written) >= 7 * model.config.num_hidden_layers and report.ok, str(report)
    every_weight = {name for name, _ in model.model.layers.named_parameters()}
    tagged = {layer.name.removeprefix("model.layers.") for layer in report.layers}
    assert every_weight <= tagged  # every weight inside a decoder block has a role
    identity = idinit_hf.identity_report(model, inputs("llama"))
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


@pytest.mark.parametrize("model_type", ["gemma2", "olmo2", "exaone4"])
def test_architectures_whose_branches_end_in_a_norm_have_tables_of_their_own(model_type):
    """Not this table's: IDIZε on o_proj / down_proj would be undone by the norm that follows (families/olmo2.py)."""
    config = AutoConfig.for_model(model_type, **LLAMA.example)
    assert model_type not in LLAMA.model_types
    assert any(slot.role is idinit_hf.Role.ATTENTION_OUT_NORM for slot in idinit_hf.families.family_for(config).slots)


def test_the_family_is_registered():
    assert family("llama") is LLAMA and "mistral" in idinit_hf.supported_model_types()


@pytest.mark.parametrize("model_type", ["llama", "qwen3"])
def test_a_query_taller_than_the_model_has_its_replicated_heads_drawn_apart(model_type):
    """4 heads of size 8 read a width of 16: query heads 2-3 replicate heads 0-1's dims; the family loosening tells
    them apart, as it does the MLP's replicas (the paper's leaves them tied)."""
    def query(**options):
        return build(model_type, head_dim=8, **options).model.layers[0].self_attn.q_proj.weight.detach()

    assert query().shape == (32, D) and idinit_hf.replica_spread(query()) > 0.4
    assert idinit_hf.replica_spread(query(**PAPERS_LOOSENING)) < 1e-4
