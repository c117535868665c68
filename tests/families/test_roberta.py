"""BERT's siblings, role by role: BERT's table renamed by class-name suffix finds in RoBERTa exactly what it finds in
BERT, the siblings' heads and main-stem layers, and RoBERTa's positions after [PAD]."""

import pytest
import torch
from helpers import (
    HIDDEN,
    D,
    assert_default_random,
    assert_loosened_identity,
    attention_out_pattern,
    eye,
    family,
    mlp_out_pattern,
    stacked_identity,
)

import idinit_hf
from idinit_hf.families.roberta import BERT_LAYOUT, ROBERTA
from idinit_hf.patterns import locate_slots
from idinit_hf.roles import ClassName, Role
from idinit_hf.training.modeling import context_length


def assert_idi_table(embedding: torch.nn.Embedding) -> None:
    """IDIτ of a V x d table (row m → e_(m mod d), loosened where rows replicate), its padding row 0."""
    weight = embedding.weight.detach()
    want = stacked_identity(len(weight), D)
    if embedding.padding_idx is not None:
        want[embedding.padding_idx] = 0
    assert torch.equal(weight.round(decimals=4), want)


def build(model_type: str = "roberta", **config):
    return idinit_hf.AutoModelForMaskedLM.from_config(ROBERTA.example_config(model_type, init_method="idinit", **config))


def test_bert_table_is_renamed_by_exact_class_name_suffixes():
    owners = {slot.owner for slot in BERT_LAYOUT}
    assert ClassName("Output", not_after=("Self",)) in owners and ClassName("SelfOutput") in owners
    assert all(isinstance(owner, ClassName) for owner in owners)


def test_the_renamed_table_finds_in_roberta_what_bert_finds_in_bert():
    """Same blocks, same slots: every (path, role) of BERT's encoder has its twin in RoBERTa's, and nothing more."""
    def encoder_slots(model, fam, prefix):
        return sorted((loc.path.removeprefix(prefix), loc.slot.role.value) for loc in locate_slots(model, fam)
                      if loc.path.startswith(prefix))

    bert = idinit_hf.AutoModelForMaskedLM.from_config(family("bert").example_config(init_method="idinit"))
    assert encoder_slots(build(), ROBERTA, "roberta.encoder.") == encoder_slots(bert, family("bert"), "bert.encoder.")


def test_roberta_blocks():
    model = build()
    for layer in model.roberta.encoder.layer:
        for projection in (layer.attention.self.query, layer.attention.self.key, layer.attention.self.value):
            assert torch.equal(projection.weight.detach(), eye(D)) and torch.equal(projection.bias, torch.zeros(D))
        assert torch.equal(layer.attention.output.dense.weight.detach(), attention_out_pattern(D))
        assert_loosened_identity(layer.intermediate.dense.weight.detach())
        assert torch.equal(layer.output.dense.weight.detach(), mlp_out_pattern(D, HIDDEN))


def test_roberta_embeddings_follow_bert_and_the_lm_head_is_the_librarys():
    model = build()
    embeddings = model.roberta.embeddings
    words = embeddings.word_embeddings.weight.detach()
    assert torch.equal(words[model.config.pad_token_id], torch.zeros(D))  # the padding row stays 0
    assert_idi_table(embeddings.position_embeddings)  # position p → e_(p mod d), as BERT's
    assert model.lm_head.decoder.weight is embeddings.word_embeddings.weight
    assert_default_random(model.lm_head.dense.weight)
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("model_type", ["electra", "roformer", "rembert"])
@pytest.mark.parametrize("rule", ["idi", "default"])
def test_a_narrower_embedding_is_projected_by_the_embedding_projection_option(model_type, rule):
    """ELECTRA's embeddings_project, RoFormer's, RemBERT's embedding_hidden_mapping_in: 8 → 16, IDIτ (two stacked
    identities, loosened) by default; the library's normal init under idinit_embedding_projection="default"."""
    model = build(model_type, embedding_size=8, input_embedding_size=8, idinit_embedding_projection=rule)
    [projection] = [loc.module for loc in locate_slots(model, ROBERTA) if loc.slot.role is Role.EMBEDDING_PROJECTION]
    assert projection.weight.shape == (D, 8)
    if rule == "idi":
        assert_loosened_identity(projection.weight.detach())
        assert torch.equal(projection.bias, torch.zeros(D))
    else:
        assert_default_random(projection.weight)
    assert idinit_hf.verify(model).ok


@pytest.mark.parametrize("model_type, tables", [
    ("layoutlm", ["x_position_embeddings", "y_position_embeddings", "h_position_embeddings", "w_position_embeddings"]),
    ("tapas", [f"token_type_embeddings_{i}" for i in range(7)]),
    ("roc_bert", ["shape_embed", "pronunciation_embed"]),
])
def test_extra_embedding_tables_follow_the_embeddings_option(model_type, tables):
    model = build(model_type)
    embeddings = model.base_model.embeddings
    for table in tables:
        assert_idi_table(getattr(embeddings, table))
    default = build(model_type, idinit_embeddings="default")
    assert_default_random(getattr(default.base_model.embeddings, tables[0]).weight)


@pytest.mark.parametrize("model_type, offset", [("roberta", 2), ("xlm-roberta", 2), ("electra", 0), ("ernie", 0)])
def test_the_context_length_counts_the_positions_before_the_first(model_type, offset):
    """RoBERTa numbers positions from pad_token_id + 1 (1 here): a table of 64 rows takes 62 tokens, and exactly
    that many run."""
    config = ROBERTA.example_config(model_type, pad_token_id=1 if offset else 0)
    assert context_length(config) == config.max_position_embeddings - offset
    model = idinit_hf.AutoModelForMaskedLM.from_config(config)
    ids = torch.full((1, context_length(config)), 5)
    assert model(input_ids=ids).logits.shape[1] == context_length(config)


def test_yoso_and_ibert_are_refused():
    for model_type in ("yoso", "ibert"):
        assert model_type not in idinit_hf.supported_model_types()
