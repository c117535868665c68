"""The BERT family, role by role: what every layer holds after from_config (post-LN blocks, IDIτ embeddings by
default, pooler and heads)."""

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
    layers_of,
    mlp_out_pattern,
)
from transformers.models.bert import modeling_bert as bert

import idinit_hf

BERT_CLASSES = ["IDInitBertModel", "IDInitBertForMaskedLM", "IDInitBertForPreTraining", "IDInitBertForSequenceClassification"]


@pytest.fixture(params=BERT_CLASSES)
def bert_model(request):
    return getattr(idinit_hf, request.param)._from_config(family("bert").example_config(init_method="idinit", num_labels=3))


def test_bert_attention(bert_model):
    for attention in layers_of(bert_model, bert.BertSelfAttention):
        for projection in (attention.query, attention.key, attention.value):
            assert torch.equal(projection.weight.detach(), eye(D)) and torch.equal(projection.bias, torch.zeros(D))
    for output in layers_of(bert_model, bert.BertSelfOutput):
        assert torch.equal(output.dense.weight.detach(), attention_out_pattern(D))


def test_bert_mlp(bert_model):
    for intermediate in layers_of(bert_model, bert.BertIntermediate):
        assert_loosened_identity(intermediate.dense.weight.detach())
    for output in layers_of(bert_model, bert.BertOutput):
        assert torch.equal(output.dense.weight.detach(), mlp_out_pattern(D, HIDDEN))
        assert torch.equal(output.dense.bias, torch.zeros(D))


def test_bert_embeddings_are_idi_by_default_and_pooler_identity(bert_model):
    """BERT's own default (Family.option_defaults, chosen by the benchmark): IDIτ token, position and token-type
    tables; the padding row stays 0."""
    embeddings = layers_of(bert_model, bert.BertEmbeddings)[0]
    words = embeddings.word_embeddings.weight.detach()
    assert torch.equal(words[0], torch.zeros(D))  # padding row
    loosened = words.clone()
    loosened[0, 0] = 1.0  # the pattern of row 0, to check the rest of the table in one go
    assert_loosened_identity(loosened)
    assert_loosened_identity(embeddings.position_embeddings.weight.detach())
    assert torch.equal(embeddings.token_type_embeddings.weight.detach(), eye(D)[:2])  # wide: [I | 0], no replicas
    for pooler in [m for m in bert_model.modules() if isinstance(m, bert.BertPooler)]:
        assert torch.equal(pooler.dense.weight.detach(), eye(D))


def test_bert_embeddings_default_when_asked():
    model = idinit_hf.IDInitBertModel(family("bert").example_config(init_method="idinit", idinit_embeddings="default"))
    assert_default_random(model.embeddings.word_embeddings.weight[1:])
    assert_default_random(model.embeddings.position_embeddings.weight)


def test_bert_heads():
    model = idinit_hf.IDInitBertForPreTraining(family("bert").example_config(init_method="idinit"))
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert_default_random(model.cls.predictions.transform.dense.weight)
    assert_default_random(model.cls.seq_relationship.weight)
