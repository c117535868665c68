"""The OLMo 2 layout (norms at the end of each branch, none at its input), role by role: the zero-preserving gain
of the post-branch norms, the rule of the branch's last linear layer under each option, gradients at init, and every
model type of the installed transformers with exactly this layout is covered."""

from __future__ import annotations

import pytest
import torch
from helpers import (
    PAPERS_LOOSENING,
    assert_replicas_loosened_apart,
    eye,
    family,
    inputs,
    model_type_sweep,
    stacked_identity,
)
from layouts import branches_end_in, types_whose_layers_hold

import idinit_hf
from idinit_hf.families import OLMO2

EPS = 1e-6
D, HIDDEN = 16, 40  # the example config's width and MLP width (GQA: 4 query heads of 4 on 2 key/value heads)


def build(model_type: str = "olmo2", **options):
    config = OLMO2.example_config(model_type, vocab_size=256, init_method="idinit", **options)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def weight(module) -> torch.Tensor:
    return module.weight.detach()


def test_the_post_branch_norms_get_a_gain_of_epsilon_and_the_input_sides_the_identity():
    model = build(**PAPERS_LOOSENING)  # the exact pattern; the family's loosening: the test below
    for layer in model.model.layers:
        assert torch.equal(weight(layer.post_attention_layernorm), torch.full((D,), EPS))
        assert torch.equal(weight(layer.post_feedforward_layernorm), torch.full((D,), EPS))
        assert torch.equal(weight(layer.self_attn.q_proj), torch.zeros(D, D))  # the family's Q = 0
        assert torch.equal(weight(layer.self_attn.k_proj), torch.eye(D)[: D // 2])  # 2 key/value heads of 4
        assert torch.equal(weight(layer.self_attn.q_norm), torch.ones(D))  # over all heads: the library's 1
        assert torch.equal(weight(layer.mlp.up_proj).round(decimals=3), stacked_identity(HIDDEN, D))
    assert torch.equal(weight(model.model.norm), torch.ones(D))  # the final norm is not a branch's


def test_replicas_start_apart_under_the_family_loosening():
    """The family's default (issue 19, OLMO2_LOOSENING): N(0, (2/√d)²) on every entry of the gate and up and a
    quarter of that, N(0, (0.5/√d)²), on the untied IDIτ head, around their stacked identities; the square and wide
    projections keep their patterns."""
    model = build()
    layer = model.model.layers[0]
    tall = {"gate": (layer.mlp.gate_proj, 2.0), "up": (layer.mlp.up_proj, 2.0), "head": (model.lm_head, 0.5)}
    for name, (module, loosening) in tall.items():
        assert_replicas_loosened_apart(weight(module), tol=0.2, name=name, loosening=loosening)  # 640 to 4096 draws
    assert torch.equal(weight(layer.self_attn.v_proj), eye(D)[: D // 2])


def test_no_loosening_means_none_on_the_head_too():
    """The head's factor scales idinit_loosening, so ``idinit_loosening=0`` leaves every tall IDIτ exact."""
    model = build(idinit_loosening=0.0)
    assert torch.equal(weight(model.lm_head), stacked_identity(model.config.vocab_size, D))
    assert torch.equal(weight(model.model.layers[0].mlp.up_proj), stacked_identity(HIDDEN, D))


def test_a_head_factor_of_one_gives_the_head_the_mlps_loosening():
    """The family's factor is a default, not a rule: ``idinit_head_loosening_factor=1`` loosens the head as the gate
    and up (2/√d), the measured alternative (docs/defaults.md, "OLMo 2's loosening")."""
    assert_replicas_loosened_apart(weight(build(idinit_head_loosening_factor=1.0).lm_head), tol=0.2, loosening=2.0)


def test_query_scale_one_gives_the_papers_identity_query():
    """The family's Q = 0 is a default, not a rule: ``idinit_query_scale=1`` writes the paper's Q = I."""
    layer = build(idinit_query_scale=1.0).model.layers[0]
    assert torch.equal(weight(layer.self_attn.q_proj), eye(D))


def test_a_zero_query_makes_attention_uniform_at_init():
    """Q = 0 through the QK-norm is a zero query: every logit 0, every token attends evenly to its prefix."""
    model = build()
    model.set_attn_implementation("eager")  # SDPA returns no attention weights
    batch = inputs("olmo2", batch=1, tokens=8)
    attentions = model(**batch, output_attentions=True).attentions
    assert len(attentions) == model.config.num_hidden_layers
    uniform = torch.tril(torch.ones(8, 8)) / torch.arange(1, 9).unsqueeze(1)
    for layer in attentions:
        torch.testing.assert_close(layer[0], uniform.expand_as(layer[0]), atol=1e-6, rtol=0)


def test_the_last_linear_layers_of_the_branches_keep_the_library_init_by_default():
    """The ε is in the gain that follows them (idinit_normed_out="default", docs/defaults.md)."""
    model = build()
    for name in ("self_attn.o_proj", "mlp.down_proj"):
        assert 0.01 < float(weight(model.model.layers[0].get_submodule(name)).std()) < 0.03, name
    assert idinit_hf.verify(model).ok


def test_normed_out_idi_makes_them_identities():
    """IDIτ: o_proj = I, down_proj = [I | 0]."""
    layer = build(idinit_normed_out="idi").model.layers[0]
    assert torch.equal(weight(layer.self_attn.o_proj), torch.eye(D))
    assert torch.equal(weight(layer.mlp.down_proj), torch.cat([torch.eye(D), torch.zeros(D, HIDDEN - D)], dim=1))


def test_normed_out_idiz_puts_epsilon_in_the_linear_layer_too():
    layer = build(idinit_normed_out="idiz").model.layers[0]
    assert torch.equal(weight(layer.self_attn.o_proj), EPS * (torch.eye(D) - torch.eye(D).roll(1, 1)))
    assert torch.equal(weight(layer.post_attention_layernorm), torch.full((D,), EPS))


def test_branch_norm_default_keeps_the_library_gain():
    layer = build(idinit_branch_norm="default", idinit_normed_out="idiz").model.layers[0]
    assert torch.equal(weight(layer.post_attention_layernorm), torch.ones(D))


def test_alternating_gain_pattern():
    layer = build(idinit_gain_pattern="alternating").model.layers[0]
    assert torch.equal(weight(layer.post_feedforward_layernorm), EPS * torch.tensor([1.0, -1.0] * (D // 2)))


#: A zero query multiplies the key out of every logit, and the query norm's gain scales a zero vector: these get their
#: first gradient after the query projection's first update (as GPT-2's key under its Q = 0).
KEY_SIDE = {"self_attn.k_proj.weight", "self_attn.k_norm.weight", "self_attn.q_norm.weight"}


@pytest.mark.parametrize("query_scale, without_gradient", [(0.0, KEY_SIDE), (1.0, set())])
def test_every_weight_of_a_block_gets_a_gradient_at_init(query_scale, without_gradient):
    """The gain holds the ε, so the gradient reaches every weight of the branch (but, under a zero query, the key side:
    KEY_SIDE), scaled by ε, and the gain itself gets a full-size one (IDIZε on the linear layer as well would leave ε²
    there)."""
    model = build(idinit_query_scale=query_scale)
    batch = inputs("olmo2", batch=2, tokens=16)
    model(**batch, labels=batch["input_ids"]).loss.backward()
    layer = model.model.layers[0]
    for name, param in layer.named_parameters():
        assert param.grad is not None and bool(param.grad.abs().max() > 0) != (name in without_gradient), name
    gain = float(layer.post_attention_layernorm.weight.grad.abs().max())
    assert gain > 1e3 * float(layer.self_attn.o_proj.weight.grad.abs().max())


@pytest.mark.parametrize("model_type", model_type_sweep(OLMO2.model_types))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(model_type):
    model = build(model_type)
    report = idinit_hf.verify(model)
    written = [layer for layer in report.layers if layer.rule not in (idinit_hf.Rule.DEFAULT, idinit_hf.Rule.TIED)
               and layer.name.startswith("model.layers.")]
    # q, k, v, gate, up (IDIτ) and the two gains (IDIZε); o_proj and down_proj keep the library init
    assert len(written) == 7 * model.config.num_hidden_layers and report.ok, str(report)
    every_weight = {name for name, _ in model.model.layers.named_parameters()}
    tagged = {layer.name.removeprefix("model.layers.") for layer in report.layers}
    assert every_weight <= tagged  # every weight inside a decoder block has a role
    identity = idinit_hf.identity_report(model, inputs("olmo2"))
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


LAYER = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
         "mlp.up_proj", "mlp.down_proj", "post_attention_layernorm", "post_feedforward_layernorm"}
OUTSIDE = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}


@pytest.mark.slow
def test_every_olmo2_layout_model_type_is_covered():
    """Decoder layers that hold exactly these projections and two norms (plus q/k norms), whose two branches end
    in those norms (checked on a forward pass), and nothing outside them but the embedding, final norm and head."""
    named = types_whose_layers_hold(LAYER, {"self_attn.q_norm", "self_attn.k_norm"}, OUTSIDE)
    found = {t for t in named if branches_end_in(t, "post_attention_layernorm", "post_feedforward_layernorm")}
    assert found == set(OLMO2.model_types), (sorted(found - set(OLMO2.model_types)),
                                             sorted(set(OLMO2.model_types) - found))


def test_the_family_is_registered():
    assert family("olmo2") is OLMO2 and "exaone4" in idinit_hf.supported_model_types()
