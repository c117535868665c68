"""The BART layout, role by role, in its post-LN (BART, Marian, ...) and pre-LN (mBART, Pegasus, ...) tables: what
every layer holds after from_config (cross-attention by its option, biases 0, learned positions by the embeddings
option and sinusoidal ones untouched, the shared table and its aliases whichever flag ties them), every block of both
stacks the identity at init (post-LN: x ↦ LN(x)), and every model type of the installed transformers with exactly
this layout is covered, with the norm position read from a forward pass."""

from __future__ import annotations

import inspect

import pytest
import torch
import transformers
from helpers import (
    assert_default_random,
    assert_loosened_identity,
    attention_out_pattern,
    inputs,
    mlp_out_pattern,
    model_type_sweep,
)
from seq2seq_layouts import (
    SEQ2SEQ_TYPES,
    assert_stock_default_and_stock_reload,
    holds_only,
    norm_position,
    tiny_seq2seq,
)

import idinit_hf
from idinit_hf.families.bart import BART, MBART

D, FF = 16, 64  # the families' example config
TYPES = [(family, t) for family in (BART, MBART) for t in family.model_types]


def build(model_type: str = "bart", family=BART, **options):
    config = family.example_config(model_type, vocab_size=257, init_method="idinit", **options)
    return idinit_hf.AutoModelForSeq2SeqLM.from_config(config)


def layers(model, stack: str):
    return getattr(model.model, stack).layers


def eye(n: int = D) -> torch.Tensor:
    return torch.eye(n)


def test_self_attention_and_mlp_patterns_with_zero_biases():
    model = build()
    for stack in ("encoder", "decoder"):
        for layer in layers(model, stack):
            for name in ("q_proj", "k_proj", "v_proj"):
                projection = getattr(layer.self_attn, name)
                assert torch.equal(projection.weight.detach(), eye()) and not projection.bias.any()
            assert torch.equal(layer.self_attn.out_proj.weight.detach(), attention_out_pattern(D))
            assert_loosened_identity(layer.fc1.weight.detach())
            assert torch.equal(layer.fc2.weight.detach(), mlp_out_pattern(D, FF))
            assert not layer.fc1.bias.any() and not layer.fc2.bias.any() and not layer.self_attn.out_proj.bias.any()


@pytest.mark.parametrize("rule", ["idi", "uniform", "default"])
def test_cross_attention_follows_its_option_and_its_output_is_idiz(rule):
    model = build(idinit_cross_attention=rule)
    for layer in layers(model, "decoder"):
        attention = layer.encoder_attn
        q, k, v = (getattr(attention, f"{p}_proj").weight.detach() for p in "qkv")
        if rule == "default":
            for weight in (q, k, v):
                assert_default_random(weight)
        else:
            assert torch.equal(q, eye() if rule == "idi" else torch.zeros(D, D))
            assert torch.equal(k, eye()) and torch.equal(v, eye()) and not attention.q_proj.bias.any()
        assert torch.equal(attention.out_proj.weight.detach(), attention_out_pattern(D))
    assert idinit_hf.verify(model).ok


def test_query_scale_applies_to_self_and_cross_attention_queries():
    model = build(idinit_query_scale=0.5)
    layer = layers(model, "decoder")[0]
    assert torch.equal(layer.self_attn.q_proj.weight.detach(), 0.5 * eye())
    assert torch.equal(layer.encoder_attn.q_proj.weight.detach(), 0.5 * eye())
    assert torch.equal(layer.encoder_attn.k_proj.weight.detach(), eye())


@pytest.mark.parametrize("embeddings", ["default", "idi"])
def test_learned_positions_follow_the_embeddings_option(embeddings):
    model = build(idinit_embeddings=embeddings, idinit_loosening=0.0)
    table = model.model.encoder.embed_positions.weight.detach()  # 32 positions + BART's offset of 2, x d
    if embeddings == "idi":
        assert torch.equal(table[:D], eye()) and torch.equal(table[D : 2 * D], eye())
    else:
        assert_default_random(table)
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("model_type", ["marian", "pegasus", "m2m_100"])
def test_sinusoidal_positions_stay_the_librarys(model_type):
    family = BART if model_type == "marian" else MBART
    model = build(model_type, family, idinit_embeddings="idi")
    stock = getattr(transformers, type(model).__name__)(family.example_config(model_type, vocab_size=257))
    positions = model.model.encoder.embed_positions
    got = positions.weight if hasattr(positions, "weight") else positions.weights
    want = stock.model.encoder.embed_positions
    want = want.weight if hasattr(want, "weight") else want.weights
    assert torch.equal(got.detach(), want.detach())  # a fixed function of the position, not a role


@pytest.mark.parametrize("tied", [True, False])
def test_the_shared_table_is_written_once_and_the_stacks_alias_it_when_tied(tied):
    model = build(idinit_embeddings="idi", tie_word_embeddings=tied)
    shared, encoder, decoder = (t.weight for t in (model.model.shared, model.model.encoder.embed_tokens,
                                                   model.model.decoder.embed_tokens))
    assert (encoder is shared and decoder is shared and model.lm_head.weight is shared) == tied
    report = idinit_hf.verify(model)
    assert report.ok
    tied_names = {layer.name for layer in report.layers if layer.rule is idinit_hf.Rule.TIED}
    assert tied_names == ({"lm_head.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"}
                          if tied else set())
    assert not shared[model.config.pad_token_id].any()  # the padding row stays 0


@pytest.mark.parametrize("flags", [dict(share_encoder_decoder_embeddings=False), dict(tie_word_embeddings=False),
                                   dict(share_encoder_decoder_embeddings=False, tie_word_embeddings=False)])
def test_marian_ties_whichever_flags_make_them(flags):
    """Marian ties its stacks' tables to ``shared`` by one flag and its head to the decoder's table by another: each
    tensor is written once, where it is first found, and a tied head is the decoder's own table."""
    model = build("marian", idinit_embeddings="idi", idinit_heads="idi", **flags)
    report = idinit_hf.verify(model)
    assert report.ok, str(report)
    written = [model.get_parameter(layer.name) for layer in report.layers
               if layer.role is idinit_hf.Role.EMBEDDING and layer.rule is idinit_hf.Rule.IDI]
    assert len({id(p) for p in written}) == len(written)  # no tensor written twice
    if flags.get("tie_word_embeddings", True):
        assert model.lm_head.weight is model.model.decoder.embed_tokens.weight


def test_norms_keep_the_library_default():
    model = build("mbart", MBART)
    for name, param in model.named_parameters():
        if "norm" in name:
            want = torch.ones(D) if name.endswith("weight") else torch.zeros(D)
            assert torch.equal(param.detach(), want), name


def test_the_decoder_alone_as_a_causal_lm():
    """BartForCausalLM: the decoder's own table is the input embedding (no shared table), the head tied to it."""
    config = BART.example_config(vocab_size=257, init_method="idinit", idinit_embeddings="idi")
    model = idinit_hf.AutoModelForCausalLM.from_config(config)
    assert type(model).__name__ == "BartForCausalLM"
    report = idinit_hf.verify(model)
    assert report.ok and report.by_role(idinit_hf.Role.ATTENTION_OUT)
    assert {layer.name for layer in report.layers if layer.rule is idinit_hf.Rule.TIED} == {"lm_head.weight"}
    identity = idinit_hf.identity_report(model, {"input_ids": inputs("gpt2")["input_ids"]})
    assert len(identity.blocks) == 2 and identity.max_identity_error() <= 1e-4


@pytest.mark.parametrize("head", ["ForSequenceClassification", "ForQuestionAnswering"])
def test_the_other_heads_build_and_verify(head):
    config = BART.example_config(vocab_size=257, num_labels=3, init_method="idinit", idinit_heads="zero")
    model = getattr(idinit_hf, f"IDInitBart{head}")(config)
    report = idinit_hf.verify(model)
    assert report.ok and report.by_role(idinit_hf.Role.HEAD)
    assert all(not model.get_parameter(layer.name).any() for layer in report.by_role(idinit_hf.Role.HEAD))


# ---- identity at init, per model type: x ↦ x (pre-LN), x ↦ LN(x) (post-LN) ---------------------------------------

@pytest.mark.parametrize("family, model_type", model_type_sweep(TYPES), ids=[t for _, t in TYPES])
def test_each_covered_model_type_is_exact_and_an_identity_at_init(family, model_type):
    model = build(model_type, family)
    report = idinit_hf.verify(model)
    written = [layer for layer in report.layers if layer.rule not in (idinit_hf.Rule.DEFAULT, idinit_hf.Rule.TIED)]
    assert len(written) >= 2 * 6 * 2 and report.ok, str(report)
    every_weight = {f"model.{s}.layers.{name}" for s in ("encoder", "decoder")
                    for name, _ in layers(model, s).named_parameters()}
    assert every_weight <= {layer.name for layer in report.layers}  # every weight inside a block has a role
    identity = idinit_hf.identity_report(model, inputs(family))
    assert len(identity.blocks) == 4
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


def test_a_post_ln_block_normalizes_what_was_not_normalized():
    """Marian adds sinusoidal positions to the scaled embeddings and normalizes nothing before its first block: that
    block maps x to LN(x), far from x; identity_report measures post-LN blocks against LN(x)."""
    model = build("marian").eval()
    seen = []
    layers(model, "encoder")[0].register_forward_hook(lambda m, a, k, o: seen.append((a[0] if a else
                                                                                      k["hidden_states"], o)),
                                                      with_kwargs=True)
    model(**inputs("bart"))
    x, y = seen[0][0], seen[0][1][0] if isinstance(seen[0][1], tuple) else seen[0][1]
    assert (y - x).norm() / x.norm() > 0.1
    assert torch.allclose(y, torch.nn.functional.layer_norm(x, (D,)), atol=1e-4)


@pytest.mark.parametrize("family, model_type", model_type_sweep(TYPES), ids=[t for _, t in TYPES])
def test_default_init_is_stock_and_an_idinit_checkpoint_reloads_in_stock_transformers(family, model_type, tmp_path):
    assert_stock_default_and_stock_reload(family, model_type, tmp_path)


# ---- every model type with exactly the BART layout -----------------------------------------------------------------

_PROJ = ("weight", "bias")
_LAYER = {f"{m}.{p}" for m in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                               "fc1", "fc2", "self_attn_layer_norm", "final_layer_norm") for p in _PROJ}
_CROSS = {f"{m}.{p}" for m in ("encoder_attn.q_proj", "encoder_attn.k_proj", "encoder_attn.v_proj",
                               "encoder_attn.out_proj", "encoder_attn_layer_norm") for p in _PROJ}
_OUTSIDE = {"model.shared.weight", "lm_head.weight",
            *(f"model.{s}.{m}.{p}" for s in ("encoder", "decoder")
              for m in ("embed_tokens", "embed_positions", "layernorm_embedding", "layer_norm") for p in _PROJ)}


def run_layer(layer, x):
    # every other argument without a default is None (MVP's prompts)
    extra = {name: None for name, p in inspect.signature(layer.forward).parameters.items()
             if p.default is inspect.Parameter.empty and name != "hidden_states"
             and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if hasattr(layer, "encoder_attn"):
        extra["encoder_hidden_states"] = x.flip(1)
    out = layer(x, **extra)
    return out[0] if isinstance(out, tuple) else out


def stacks_of(model) -> list:
    inner = getattr(model, "model", None)
    return [getattr(getattr(inner, s, None), "layers", None) for s in ("encoder", "decoder")]


def bart_layout(model_type: str) -> str | None:
    """``"post"`` or ``"pre"`` for a model type whose layers hold BART's weights and nothing else (LED's and
    BigBird-Pegasus' attention, Pegasus-X's global tokens, NLLB-MoE's routed MLP are other layouts), else None."""
    model = tiny_seq2seq(model_type, BART.example)
    if model is None or not holds_only(model, stacks_of(model), _LAYER | _CROSS, _LAYER, _OUTSIDE):
        return None
    model = tiny_seq2seq(model_type, BART.example, device="cpu")
    positions = {norm_position(layer, run_layer) for layers_ in stacks_of(model) for layer in layers_}
    return positions.pop() if len(positions) == 1 else None


@pytest.mark.slow
def test_every_bart_layout_model_type_is_covered_with_its_norm_position():
    found: dict[str, set[str]] = {"post": set(), "pre": set()}
    for model_type in SEQ2SEQ_TYPES:
        if (position := bart_layout(model_type)) is not None:
            found[position].add(model_type)
    assert found == {"post": set(BART.model_types), "pre": set(MBART.model_types)}
    assert (BART.norm_position, MBART.norm_position) == ("post", "pre")
