"""The T5 family, role by role: what every layer holds after from_config (the query folded by d_head^-½, the
cross-attention and relative-bias options, T5 v1.1's gated MLP, the shared table and its aliases, the always-tied
head), T5's own wo by default (idinit_mlp_out), every block of both stacks an identity at init under the
method's IDIZε on wo, and every model type of the installed transformers with
exactly the T5 layout is covered."""

from __future__ import annotations

import pytest
import torch
import transformers
from helpers import assert_loosened_identity, family, inputs, mlp_out_pattern, model_type_sweep
from seq2seq_layouts import (
    SEQ2SEQ_TYPES,
    assert_stock_default_and_stock_reload,
    holds_only,
    norm_position,
    tiny_seq2seq,
)

import idinit_hf
from idinit_hf.families.t5 import T5

EPS = 1e-6
D, HEADS, D_KV, FF = 16, 2, 8, 64  # the family's example config


def build(model_type: str = "t5", **options):
    config = T5.example_config(model_type, vocab_size=257, init_method="idinit", **options)
    return idinit_hf.AutoModelForSeq2SeqLM.from_config(config)


def eye(n: int = D) -> torch.Tensor:
    return torch.eye(n)


def self_attention(model, stack="encoder", block=0):
    return getattr(model, stack).block[block].layer[0].SelfAttention


def cross_attention(model, block=0):
    return model.decoder.block[block].layer[1].EncDecAttention


def feed_forward(model, stack="encoder", block=0):
    return getattr(model, stack).block[block].layer[-1].DenseReluDense


def test_the_query_is_zero_by_default_self_and_cross_attention():
    """T5's family default is Q = 0 (docs/defaults.md): every attention is uniform at init."""
    model = build()
    for stack in ("encoder", "decoder"):
        assert torch.equal(self_attention(model, stack).q.weight.detach(), torch.zeros(D, D))
    assert torch.equal(cross_attention(model).q.weight.detach(), torch.zeros(D, D))
    assert idinit_hf.verify(model).ok


def test_the_query_is_folded_by_d_head_and_keys_values_are_identities():
    """T5 divides no logit by √d_head: with Q = I (query_scale 1) the query's IDIτ carries the factor (what T5's own
    init folds into q)."""
    model = build(idinit_query_scale=1.0)
    for stack in ("encoder", "decoder"):
        for block in range(2):
            attention = self_attention(model, stack, block)
            assert torch.equal(attention.q.weight.detach(), D_KV**-0.5 * eye())
            assert torch.equal(attention.k.weight.detach(), eye()) and torch.equal(attention.v.weight.detach(), eye())
            assert torch.equal(attention.o.weight.detach(), EPS * (eye() - eye().roll(1, 1)))


def test_folded_identity_attention_is_the_scaled_attention_of_the_normalized_stream():
    """With Q = d_head^-½·I, K = I and no position bias, T5's attention probabilities are softmax(x_h·x_hᵀ/√d_head)
    of its normalized input per head: the logits every scaled attention gets from Q = K = I."""
    model = build(idinit_position_bias="zero", idinit_query_scale=1.0, attn_implementation="eager").eval()
    seen = {}
    layer = model.encoder.block[0].layer[0]
    layer.layer_norm.register_forward_hook(lambda m, a, o: seen.setdefault("x", o))
    out = model(**inputs("t5"), output_attentions=True)
    x = seen["x"].view(*seen["x"].shape[:2], HEADS, D_KV).transpose(1, 2)  # (batch, heads, tokens, d_kv)
    want = torch.softmax(x @ x.transpose(-1, -2) / D_KV**0.5, dim=-1)
    assert torch.allclose(out.encoder_attentions[0], want, atol=1e-5)


def test_unscaled_query_identity_keeps_tau():
    model = build(idinit_unscaled_query="identity", idinit_query_scale=1.0)
    assert torch.equal(self_attention(model).q.weight.detach(), eye())
    assert torch.equal(cross_attention(model).q.weight.detach(), eye())
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("rule", ["idi", "uniform", "default"])
def test_cross_attention_follows_its_option_and_its_output_is_idiz(rule):
    model = build(idinit_cross_attention=rule, idinit_query_scale=1.0)
    attention = cross_attention(model)
    q, k, v = (getattr(attention, name).weight.detach() for name in "qkv")
    if rule == "default":  # T5's own: q N(0, (d·d_kv)^-½), k and v N(0, d^-½)
        assert 0.5 < float(q.std()) * (D * D_KV) ** 0.5 < 1.5 and 0.5 < float(k.std()) * D**0.5 < 1.5
    else:
        assert torch.equal(q, D_KV**-0.5 * eye() if rule == "idi" else torch.zeros(D, D))
        assert torch.equal(k, eye()) and torch.equal(v, eye())
    assert torch.equal(attention.o.weight.detach(), EPS * (eye() - eye().roll(1, 1)))
    assert idinit_hf.verify(model).ok


def test_the_mlp_is_idi_in_and_idiz_out_with_mlp_out_idiz():
    ff = feed_forward(build(idinit_mlp_out="idiz"))
    assert_loosened_identity(ff.wi.weight.detach())
    assert torch.equal(ff.wo.weight.detach(), mlp_out_pattern(D, FF))


def test_wo_is_t5s_own_init_by_default_and_the_attention_branches_start_at_zero():
    """T5's family default idinit_mlp_out="default" (issue 19): every wo is T5's N(0, d_ff^-½), which verify reports
    as the library's; wi and the attention keep IDInit's patterns, so the attention branches still output ≈ 0 at
    init and the MLP branches do not."""
    model, paper = build(), build(idinit_mlp_out="idiz")
    for stack in ("encoder", "decoder"):
        ff = feed_forward(model, stack, 1)
        assert 0.5 < float(ff.wo.weight.detach().std()) * FF**0.5 < 1.5
        assert torch.equal(ff.wi.weight, feed_forward(paper, stack, 1).wi.weight)
        assert torch.equal(self_attention(model, stack, 1).o.weight, self_attention(paper, stack, 1).o.weight)
    assert idinit_hf.verify(model).ok
    report = idinit_hf.identity_report(model, inputs("t5"))
    assert max(block.attention_branch for block in report.blocks) <= 1e-4
    assert min(block.mlp_branch for block in report.blocks) > 1e-2


@pytest.mark.parametrize("gate", ["idi", "default"])
def test_the_gated_mlp_of_t5_v1_1_gates_by_the_gate_option(gate):
    """mT5 (and T5 with feed_forward_proj='gated-gelu'): wo(act(wi_0(m)) * wi_1(m)); wi_0 is the gate."""
    options = dict(idinit_gate=gate, idinit_mlp_out="idiz")
    for model in (build("mt5", **options), build(feed_forward_proj="gated-gelu", **options)):
        ff = feed_forward(model, "decoder", 1)
        assert_loosened_identity(ff.wi_1.weight.detach())
        if gate == "idi":
            assert_loosened_identity(ff.wi_0.weight.detach())
        else:
            assert 0.5 < float(ff.wi_0.weight.detach().std()) * D**0.5 < 1.5  # T5's N(0, d^-½)
        assert torch.equal(ff.wo.weight.detach(), mlp_out_pattern(D, FF))
        assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("bias", ["default", "zero"])
def test_the_relative_attention_bias_follows_its_option(bias):
    model = build(idinit_position_bias=bias)
    table = self_attention(model).relative_attention_bias.weight.detach()
    if bias == "zero":
        assert torch.equal(table, torch.zeros(32, HEADS))
    else:
        assert 0.5 < float(table.std()) * D**0.5 < 1.5
    assert self_attention(model, block=1).has_relative_attention_bias is False  # T5: the first block's table only


def test_umt5_has_a_relative_bias_in_every_block():
    model = build("umt5", idinit_position_bias="zero")
    for stack in ("encoder", "decoder"):
        for block in range(2):
            assert not self_attention(model, stack, block).relative_attention_bias.weight.any()


@pytest.mark.parametrize("embeddings", ["default", "idi"])
def test_the_stacks_read_the_shared_table_and_the_head_is_tied(embeddings):
    model = build(idinit_embeddings=embeddings, idinit_loosening=0.0)
    shared = model.shared.weight
    assert model.encoder.embed_tokens.weight is shared and model.decoder.embed_tokens.weight is shared
    assert model.lm_head.weight is shared
    if embeddings == "idi":
        assert torch.equal(shared.detach()[:D], eye()) and torch.equal(shared.detach()[D : 2 * D], eye())
    else:
        assert 0.9 < float(shared.std()) < 1.1  # T5's N(0, 1)
    report = idinit_hf.verify(model)
    assert report.ok
    tied = {layer.name for layer in report.layers if layer.rule is idinit_hf.Rule.TIED}
    assert tied == {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"}


def test_norms_keep_the_library_default():
    model = build()
    for name, param in model.named_parameters():
        if "layer_norm" in name:
            assert torch.equal(param.detach(), torch.ones(D)), name


@pytest.mark.parametrize("head", ["ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering",
                                  "EncoderModel"])
def test_the_other_heads_build_and_verify(head):
    config = T5.example_config(vocab_size=257, num_labels=3, init_method="idinit", idinit_heads="zero")
    model = idinit_hf.idinit_class(getattr(transformers, f"T5{head}"))(config)
    report = idinit_hf.verify(model)
    assert report.ok and report.by_role(idinit_hf.Role.ATTENTION_IN)
    assert all(not model.get_parameter(layer.name).any() for layer in report.by_role(idinit_hf.Role.HEAD))


# ---- every model type with exactly the T5 layout -----------------------------------------------------------------

_ATTENTION = {f"layer.0.SelfAttention.{p}.weight" for p in "qkvo"}
_CROSS = {f"layer.1.EncDecAttention.{p}.weight" for p in "qkvo"}
_FF = {f"layer.{i}.DenseReluDense.{p}.weight" for i in (1, 2) for p in ("wi", "wi_0", "wi_1", "wo")}
BLOCK = (_ATTENTION | _CROSS | _FF | {f"layer.{i}.layer_norm.weight" for i in range(3)}
         | {"layer.0.SelfAttention.relative_attention_bias.weight"})
OUTSIDE = {"shared.weight", "lm_head.weight", *(f"{s}.{p}.weight" for s in ("encoder", "decoder")
                                                  for p in ("embed_tokens", "final_layer_norm"))}


def run_block(block, x):
    out = block(x, encoder_hidden_states=x.flip(1)) if block.is_decoder else block(x)
    return out[0] if isinstance(out, tuple) else out  # UMT5's block returns the tensor alone


def stacks_of(model) -> list:
    return [getattr(getattr(model, s, None), "block", None) for s in ("encoder", "decoder")]


def t5_layout(model_type: str) -> bool:
    """Blocks of T5's attention, MLP and RMS norms only (Switch Transformers' routed MLP, LongT5's local attention
    and T5Gemma's sandwich norms are other layouts), each of both stacks pre-norm."""
    model = tiny_seq2seq(model_type, T5.example)
    if model is None or not holds_only(model, stacks_of(model), BLOCK,
                                       {"layer.0.SelfAttention.q.weight", "layer.0.SelfAttention.o.weight"}, OUTSIDE):
        return False
    model = tiny_seq2seq(model_type, T5.example, device="cpu")
    return all(norm_position(block, run_block) == "pre" for blocks in stacks_of(model) for block in blocks)


@pytest.mark.slow
def test_every_t5_layout_model_type_is_covered():
    found = {t for t in SEQ2SEQ_TYPES if t5_layout(t)}
    assert found == set(T5.model_types), (sorted(found - set(T5.model_types)), sorted(set(T5.model_types) - found))


@pytest.mark.parametrize("model_type", model_type_sweep(T5.model_types))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(model_type):
    """Exact patterns under the family's defaults; an identity at init under the method's rule on every branch (the
    default leaves wo to T5's own init)."""
    report = idinit_hf.verify(build(model_type))
    assert report.ok, str(report)
    model = build(model_type, idinit_mlp_out="idiz")
    report = idinit_hf.verify(model)
    written = [layer for layer in report.layers if layer.rule not in (idinit_hf.Rule.DEFAULT, idinit_hf.Rule.TIED)]
    assert len(written) >= 2 * 6 * 2 and report.ok, str(report)  # q, k, v, o, MLP in and out in each of 4 blocks
    every_weight = {f"{s}.block.{name}" for s in ("encoder", "decoder")
                    for name, _ in getattr(model, s).block.named_parameters()}
    assert every_weight <= {layer.name for layer in report.layers}  # every weight inside a block has a role
    identity = idinit_hf.identity_report(model, inputs("t5"))
    assert len(identity.blocks) == 4
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


def test_the_family_is_registered():
    assert family("t5") is T5 and "mt5" in idinit_hf.supported_model_types()
    assert idinit_hf.models.stock_class_names("AutoModelForSeq2SeqLM")["t5"] == "T5ForConditionalGeneration"


@pytest.mark.parametrize("model_type", model_type_sweep(T5.model_types))
def test_default_init_is_stock_and_an_idinit_checkpoint_reloads_in_stock_transformers(model_type, tmp_path):
    assert_stock_default_and_stock_reload(T5, model_type, tmp_path)
