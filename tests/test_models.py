"""What every layer holds after from_config, role by role, checked by module type against patterns built here."""

from functools import partial

import pytest
import torch
import transformers
from helpers import NAMES, family, tiny_config
from transformers.models.bert import modeling_bert as bert
from transformers.models.gpt2 import modeling_gpt2 as gpt2
from transformers.models.vit import modeling_vit as vit

import idinit_hf

EPS = 1e-6
D, HIDDEN = 16, 64  # conftest's tiny configs: width and MLP width


def eye(n):
    return torch.eye(n)


def attention_out_pattern(d):
    """IDIZε, out >= in: +ε on the diagonal, −ε one to the right (wrapping)."""
    return EPS * (torch.eye(d) - torch.eye(d).roll(1, dims=1))


def mlp_out_pattern(d, hidden):
    """IDIZε, 4d -> d: [εI, −εI, 0, 0]."""
    return torch.cat([EPS * torch.eye(d), -EPS * torch.eye(d), torch.zeros(d, hidden - 2 * d)], dim=1)


def assert_loosened_identity(weight, tol=1e-5):
    """IDIτ on a tall weight plus loosening on the τ entries: zero elsewhere, τ ± tol, not all equal."""
    pattern = torch.zeros_like(weight)
    for m in range(weight.shape[0]):
        pattern[m, m % weight.shape[1]] = 1.0
    assert torch.equal(weight[pattern == 0], torch.zeros(int((pattern == 0).sum())))
    taus = weight[pattern == 1]
    assert (taus - 1).abs().max() < tol
    assert taus.unique().numel() > 1  # loosened: replicated rows are not tied


def assert_default_random(weight, std=0.02):
    assert 0.5 * std < float(weight.detach().std()) < 1.5 * std


def layers_of(model, module_type):
    found = [m for m in model.modules() if isinstance(m, module_type)]
    assert found, f"no {module_type.__name__} in {type(model).__name__}"
    return found


# ---- GPT-2 ----------------------------------------------------------------------------------------------------------

GPT2_CLASSES = ["IDInitGPT2Model", "IDInitGPT2LMHeadModel", "IDInitGPT2ForSequenceClassification"]


@pytest.fixture(params=GPT2_CLASSES)
def gpt2_model(request):
    return getattr(idinit_hf, request.param)._from_config(family("gpt2").example_config(init_method="idinit", num_labels=3))


def test_gpt2_attention_in_is_identity_per_qkv_block(gpt2_model):
    """K and V get the identity; Q starts at 0 (GPT-2's family default idinit_query_scale=0)."""
    for attention in layers_of(gpt2_model, gpt2.GPT2Attention):
        q, k, v = attention.c_attn.weight.detach().split(D, dim=1)  # stored (in, out) = (d, 3d)
        assert torch.equal(q, torch.zeros(D, D)) and torch.equal(k, eye(D)) and torch.equal(v, eye(D))
        assert torch.equal(attention.c_attn.bias, torch.zeros(3 * D))


def test_gpt2_attention_out_is_zero_preserving(gpt2_model):
    for attention in layers_of(gpt2_model, gpt2.GPT2Attention):
        assert torch.equal(attention.c_proj.weight.detach().t(), attention_out_pattern(D))
        assert torch.equal(attention.c_proj.bias, torch.zeros(D))


def test_gpt2_mlp(gpt2_model):
    for mlp in layers_of(gpt2_model, gpt2.GPT2MLP):
        assert_loosened_identity(mlp.c_fc.weight.detach().t())
        assert torch.equal(mlp.c_proj.weight.detach().t(), mlp_out_pattern(D, HIDDEN))
        assert torch.equal(mlp.c_fc.bias, torch.zeros(HIDDEN)) and torch.equal(mlp.c_proj.bias, torch.zeros(D))


def test_gpt2_embeddings_and_norms_keep_the_library_default(gpt2_model):
    body = gpt2_model if isinstance(gpt2_model, gpt2.GPT2Model) else gpt2_model.transformer
    assert_default_random(body.wte.weight)
    assert_default_random(body.wpe.weight)
    for norm in layers_of(gpt2_model, torch.nn.LayerNorm):
        assert torch.equal(norm.weight, torch.ones(D)) and torch.equal(norm.bias, torch.zeros(D))


def test_gpt2_lm_head_stays_tied():
    model = idinit_hf.IDInitGPT2LMHeadModel(family("gpt2").example_config(init_method="idinit"))
    assert model.lm_head.weight is model.transformer.wte.weight


def test_gpt2_cross_attention_blocks():
    model = idinit_hf.IDInitGPT2Model(family("gpt2").example_config(init_method="idinit", add_cross_attention=True))
    cross = model.h[0].crossattention
    assert torch.equal(cross.q_attn.weight.detach(), torch.zeros(D, D))
    for block in cross.c_attn.weight.detach().split(D, dim=1):  # fused K|V
        assert torch.equal(block, eye(D))


# ---- BERT -----------------------------------------------------------------------------------------------------------

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


# ---- ViT ------------------------------------------------------------------------------------------------------------

VIT_CLASSES = ["IDInitViTModel", "IDInitViTForImageClassification", "IDInitViTForMaskedImageModeling"]


@pytest.fixture(params=VIT_CLASSES)
def vit_model(request):
    return getattr(idinit_hf, request.param)._from_config(family("vit").example_config(init_method="idinit"))


def test_vit_attention(vit_model):
    """ViT's query projection starts at 0 (its family default idinit_query_scale=0: uniform attention at init)."""
    for attention in layers_of(vit_model, vit.ViTAttention):
        assert torch.equal(attention.q_proj.weight.detach(), torch.zeros(D, D))
        for projection in (attention.k_proj, attention.v_proj):
            assert torch.equal(projection.weight.detach(), eye(D))
        assert torch.equal(attention.o_proj.weight.detach(), attention_out_pattern(D))


def test_vit_mlp(vit_model):
    for mlp in layers_of(vit_model, vit.ViTMLP):
        assert_loosened_identity(mlp.fc1.weight.detach())
        assert torch.equal(mlp.fc2.weight.detach(), mlp_out_pattern(D, HIDDEN))


def test_vit_patch_embedding_is_idic(vit_model):
    projection = layers_of(vit_model, vit.ViTPatchEmbeddings)[0].projection
    assert_loosened_identity(projection.weight.detach().reshape(D, -1))  # 16 x (1·2·2): tall
    assert torch.equal(projection.bias, torch.zeros(D))


def test_vit_class_token_and_positions_are_idi_by_default(vit_model):
    """ViT's family default idinit_embeddings="idi" (issue 12): class token e_0, position p → e_(p mod d)."""
    embeddings = layers_of(vit_model, vit.ViTEmbeddings)[0]
    assert torch.equal(embeddings.cls_token.detach().view(1, D), eye(D)[:1])
    assert_loosened_identity(embeddings.position_embeddings.detach().view(-1, D))  # 17 x 16: tall


def test_vit_class_token_and_positions_default_when_asked():
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_embeddings="default"))
    assert_default_random(model.embeddings.position_embeddings)


def test_vit_classifier_default():
    model = idinit_hf.IDInitViTForImageClassification(family("vit").example_config(init_method="idinit"))
    assert_default_random(model.classifier.weight)


# ---- options that change a role's rule ------------------------------------------------------------------------------


def test_embeddings_option_idi():
    model = idinit_hf.IDInitGPT2Model(family("gpt2").example_config(init_method="idinit", idinit_embeddings="idi", idinit_loosening=0.0))
    assert torch.equal(model.wte.weight.detach()[:D], eye(D))
    assert torch.equal(model.wte.weight.detach()[D : 2 * D], eye(D))


def test_heads_option_zero():
    model = idinit_hf.IDInitViTForImageClassification(family("vit").example_config(init_method="idinit", idinit_heads="zero"))
    assert torch.equal(model.classifier.weight.detach(), torch.zeros(10, D))


def test_heads_option_idi_is_partial_identity():
    model = idinit_hf.IDInitBertForSequenceClassification(family("bert").example_config(init_method="idinit", idinit_heads="idi", num_labels=3))
    assert torch.equal(model.classifier.weight.detach(), eye(D)[:3])


def test_patch_embedding_option_default():
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_patch_embedding="default"))
    assert_default_random(model.embeddings.patch_embeddings.projection.weight)


def test_tau_and_epsilon_options():
    model = idinit_hf.IDInitBertModel(family("bert").example_config(init_method="idinit", idinit_tau=0.5, idinit_epsilon=1e-3))
    layer = model.encoder.layer[0]
    assert torch.equal(layer.attention.self.query.weight.detach(), 0.5 * eye(D))
    assert float(layer.attention.output.dense.weight.detach()[0, 0]) == pytest.approx(1e-3)


@pytest.mark.parametrize("scale", [0.5, 0.0])
def test_query_scale_option_scales_the_query_projection_only(scale):
    """idinit_query_scale multiplies Q's IDIτ (GPT-2: block 0 of the fused Q|K|V and the cross-attention q_attn;
    a fused K|V has no query block); K, V and everything else keep their pattern."""
    options = dict(init_method="idinit", idinit_query_scale=scale, idinit_tau=2.0)
    model = idinit_hf.IDInitGPT2Model(family("gpt2").example_config(add_cross_attention=True, **options))
    q, k, v = model.h[0].attn.c_attn.weight.detach().split(D, dim=1)
    assert torch.equal(q, 2.0 * scale * eye(D)) and torch.equal(k, 2.0 * eye(D)) and torch.equal(v, 2.0 * eye(D))
    cross = model.h[0].crossattention
    assert torch.equal(cross.q_attn.weight.detach(), 2.0 * scale * eye(D))
    assert all(torch.equal(b, 2.0 * eye(D)) for b in cross.c_attn.weight.detach().split(D, dim=1))
    bert_layer = idinit_hf.IDInitBertModel(family("bert").example_config(**options)).encoder.layer[0].attention.self
    vit_layer = idinit_hf.IDInitViTModel(family("vit").example_config(**options)).layers[0].attention
    for query, others in ((bert_layer.query, (bert_layer.key, bert_layer.value)),
                          (vit_layer.q_proj, (vit_layer.k_proj, vit_layer.v_proj))):
        assert torch.equal(query.weight.detach(), 2.0 * scale * eye(D))
        assert all(torch.equal(o.weight.detach(), 2.0 * eye(D)) for o in others)
    assert idinit_hf.verify(model).ok


def test_query_scale_one_gives_the_papers_identity_query():
    """GPT-2 and ViT default to Q = 0 (Family.option_defaults); BERT keeps Q = I; a value in the config wins."""
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_query_scale=1.0))
    assert torch.equal(model.layers[0].attention.q_proj.weight.detach(), eye(D))
    model = idinit_hf.IDInitGPT2Model(family("gpt2").example_config(init_method="idinit", idinit_query_scale=1.0))
    assert torch.equal(model.h[0].attn.c_attn.weight.detach()[:, :D], eye(D))
    model = idinit_hf.IDInitBertModel(family("bert").example_config(init_method="idinit"))
    assert torch.equal(model.encoder.layer[0].attention.self.query.weight.detach(), eye(D))


def test_zero_pattern_identity_option():
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_zero_pattern="identity"))
    assert torch.equal(model.layers[0].attention.o_proj.weight.detach(), EPS * eye(D))


def test_loosening_all_option_moves_zero_entries_too():
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_loosening_target="all"))
    assert (model.layers[0].mlp.fc1.weight != 0).all()


def test_idinit_seed_fixes_the_loosening():
    a = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_seed=5))
    torch.manual_seed(123)
    b = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_seed=5))
    c = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_seed=6))
    fc1 = [m.layers[1].mlp.fc1.weight for m in (a, b, c)]
    assert torch.equal(fc1[0], fc1[1]) and not torch.equal(fc1[0], fc1[2])


# ---- default init untouched -----------------------------------------------------------------------------------------

def _stock_classes() -> dict[str, tuple]:
    """Every class the registry generates for each family's first model type: name → (stock class, config)."""
    out = {}
    for name in NAMES:
        model_type = family(name).model_types[0]
        for auto in idinit_hf.AUTO_CLASSES:
            stock = idinit_hf.models.stock_class_names(auto).get(model_type)
            if stock is not None:
                out[f"IDInit{stock}"] = (getattr(transformers, stock), partial(tiny_config, name))
    return out


STOCK = _stock_classes()


@pytest.mark.parametrize("method", [None, "default"])
@pytest.mark.parametrize("name", STOCK)
def test_default_method_gives_exactly_the_stock_weights(name, method):
    stock_class, make_config = STOCK[name]
    config = make_config() if method is None else make_config(init_method=method)
    torch.manual_seed(42)
    expected = stock_class._from_config(config).state_dict()
    torch.manual_seed(42)
    got = getattr(idinit_hf, name)._from_config(config).state_dict()
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_auto_classes_dispatch_on_the_config():
    assert type(idinit_hf.AutoModelForCausalLM.from_config(family("gpt2").example_config())).__qualname__ == "IDInitGPT2LMHeadModel"
    assert type(idinit_hf.AutoModelForMaskedLM.from_config(family("bert").example_config())).__qualname__ == "IDInitBertForMaskedLM"
    assert type(idinit_hf.AutoModelForImageClassification.from_config(family("vit").example_config())).__qualname__ == "IDInitViTForImageClassification"
    assert type(idinit_hf.AutoModel.from_config(family("vit").example_config())).__qualname__ == "IDInitViTModel"
    assert type(idinit_hf.AutoModelForSequenceClassification.from_config(family("bert").example_config())).__qualname__ == "IDInitBertForSequenceClassification"


def test_classes_keep_the_stock_name_for_config_architectures():
    assert idinit_hf.IDInitGPT2LMHeadModel.__name__ == "GPT2LMHeadModel"


# ---- verify() -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STOCK)
def test_verify_passes_on_a_fresh_idinit_model(name):
    _, make_config = STOCK[name]
    report = idinit_hf.verify(getattr(idinit_hf, name)._from_config(make_config(init_method="idinit")))
    assert report.ok and report.by_role(idinit_hf.Role.ATTENTION_IN) and report.by_role(idinit_hf.Role.MLP_OUT)


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
