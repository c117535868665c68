"""The InitPlan answers which rule writes each parameter: the role table and the options, for the init pass,
``apply_`` and ``verify`` alike; ``init_module`` writes one module (the stock init for the rest)."""

import math

import pytest
import torch
from helpers import EPS, D, assert_default_random, eye, family

import idinit_hf
from idinit_hf import testing
from idinit_hf.diagnostics import role_slots
from idinit_hf.patterns import as_matrix
from idinit_hf.roles import QUERY, Role, Rule

# ---- options that change a role's rule ------------------------------------------------------------------------------


def test_embeddings_option_idi():
    # the token table follows idinit_embeddings where idinit_token_table says so (GPT-2's default is SmallInit)
    config = family("gpt2").example_config(init_method="idinit", idinit_embeddings="idi", idinit_loosening=0.0,
                                           idinit_token_table="embeddings")
    model = idinit_hf.IDInitGPT2Model(config)
    assert torch.equal(model.wte.weight.detach()[:D], eye(D))
    assert torch.equal(model.wte.weight.detach()[D : 2 * D], eye(D))


@pytest.mark.parametrize("name", ["gpt2", "bert", "llama"])
def test_token_table_option_small(name):
    """idinit_token_table="small": the token table holds SmallInit N(0, 2/(5d)) drawn from the per-parameter seed
    (verify rebuilds it bit for bit; another seed draws other values), a padding row stays 0, a tied head is the
    table, and the other embedding tables keep the rule of idinit_embeddings."""
    config = dict(init_method="idinit", idinit_token_table="small", idinit_seed=4)
    model = testing.tiny_model(name, width=64, pad_token_id=0, **config)
    table = model.get_input_embeddings().weight.detach()
    padding = model.get_input_embeddings().padding_idx  # GPT-2's table has none
    assert abs(float(table[1:].std()) / math.sqrt(2 / (5 * 64)) - 1) < 0.1
    if padding is not None:
        assert torch.equal(table[padding], torch.zeros(64))
    assert idinit_hf.verify(model).ok
    other = testing.tiny_model(name, width=64, pad_token_id=0, **{**config, "idinit_seed": 5})
    assert not torch.equal(other.get_input_embeddings().weight.detach(), table)
    head = model.get_output_embeddings()
    if model.config.tie_word_embeddings:
        assert head.weight is model.get_input_embeddings().weight
    if name == "bert":  # BERT's own embeddings default (idi) still writes its position table
        positions = model.bert.embeddings.position_embeddings.weight.detach()
        assert torch.equal(positions, eye(64)[: len(positions)])


def test_token_table_option_embeddings_follows_idinit_embeddings():
    model = testing.tiny_model("gpt2", init_method="idinit", idinit_token_table="embeddings",
                               idinit_embeddings="idi", idinit_loosening=0.0)
    assert torch.equal(model.transformer.wte.weight.detach()[:D], eye(D))


def test_heads_option_small():
    """idinit_heads="small": an untied head holds SmallInit N(0, 2/(5·fan-in)) and a zero bias; a convolution head
    (ViT's MIM decoder) draws over its fan-in c_in·k·k; verify rebuilds both."""
    model = testing.tiny_model("vit", width=64, init_method="idinit", idinit_heads="small")
    weight = model.classifier.weight.detach()
    assert abs(float(weight.std()) / math.sqrt(2 / (5 * 64)) - 1) < 0.15
    assert torch.equal(model.classifier.bias.detach(), torch.zeros(weight.shape[0]))
    assert idinit_hf.verify(model).ok
    mim = idinit_hf.IDInitViTForMaskedImageModeling(testing.tiny_config("vit", width=64, init_method="idinit",
                                                                        idinit_heads="small"))
    kernel = mim.decoder[0].weight.detach()
    assert abs(float(kernel.std()) / math.sqrt(2 / (5 * kernel[0].numel())) - 1) < 0.1
    assert idinit_hf.verify(mim).ok


def test_heads_option_zero():
    model = idinit_hf.IDInitViTForImageClassification(family("vit").example_config(init_method="idinit", idinit_heads="zero"))
    assert torch.equal(model.classifier.weight.detach(), torch.zeros(10, D))


def test_heads_option_idi_is_partial_identity():
    model = idinit_hf.IDInitBertForSequenceClassification(family("bert").example_config(init_method="idinit", idinit_heads="idi", num_labels=3))
    assert torch.equal(model.classifier.weight.detach(), eye(D)[:3])


def test_patch_embedding_option_default():
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_patch_embedding="default"))
    assert_default_random(model.embeddings.patch_embeddings.projection.weight)


@pytest.mark.parametrize("name", ["vit", "convnext", "resnet"])
def test_patch_embedding_option_small(name):
    """idinit_patch_embedding="small": the stem kernel holds SmallInit N(0, 2/(5d)), d its output width (the model
    width, not its c_in·k·k fan-in), and a zero bias, drawn from the per-parameter seed (verify rebuilds it bit for
    bit; another seed draws others)."""
    config = dict(init_method="idinit", idinit_patch_embedding="small", idinit_seed=4)
    model = testing.tiny_model(name, width=64, **config)
    report = idinit_hf.verify(model)
    layer = next(layer for layer in report.layers if layer.role is idinit_hf.Role.PATCH_EMBEDDING)
    kernel = model.get_parameter(layer.name).detach()
    assert layer.rule is idinit_hf.Rule.SMALL and layer.matches
    std, by_width, by_fan_in = float(kernel.std()), math.sqrt(2 / (5 * kernel.shape[0])), math.sqrt(2 / (5 * kernel[0].numel()))
    assert abs(std / by_width - 1) < 0.15 and abs(std - by_width) < abs(std - by_fan_in)  # resnet: 64 vs 49
    bias = model.get_submodule(layer.name.rpartition(".")[0]).bias
    assert bias is None or torch.equal(bias.detach(), torch.zeros_like(bias))
    assert report.ok
    other = testing.tiny_model(name, width=64, **{**config, "idinit_seed": 5})
    assert not torch.equal(other.get_parameter(layer.name).detach(), kernel)


def test_tau_and_epsilon_options():
    model = idinit_hf.IDInitBertModel(family("bert").example_config(init_method="idinit", idinit_tau=0.5, idinit_epsilon=1e-3))
    layer = model.encoder.layer[0]
    assert torch.equal(layer.attention.self.query.weight.detach(), 0.5 * eye(D))
    assert float(layer.attention.output.dense.weight.detach()[0, 0]) == pytest.approx(1e-3)


@pytest.mark.parametrize("scale", [0.5, 0.0])
def test_query_scale_option_scales_the_query_projection_only(scale):
    """idinit_query_scale multiplies Q's IDIτ (GPT-2: block 0 of the fused Q|K|V and the cross-attention q_attn;
    a fused K|V has no query block); K, V and everything else keep their pattern. (ViT's default query is SmallInit,
    which query_scale does not scale: idinit_query="idi" here.)"""
    options = dict(init_method="idinit", idinit_query_scale=scale, idinit_tau=2.0, idinit_query="idi")
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


def query_rows(located) -> torch.Tensor | None:
    """A boolean mask of the query rows of an attention-input slot's weight (as_matrix: out x in), None if it holds no
    query: a separate query projection is all query rows, a fused Q|K|V its query block or rows (qkv_rows)."""
    slot = located.slot
    rows, n_in = as_matrix(located.module.weight, slot).shape
    if slot.qkv is not None:
        sizes = dict(zip(("heads", "kv_heads", "head_dim", "shards"), located.qkv, strict=True))
        part, _ = idinit_hf.init.qkv_rows(slot.qkv.layout, **sizes)
        return part == idinit_hf.init.QUERY_PART
    if slot.heads != QUERY or (slot.fused and rows != 3 * n_in):
        return None  # a key or value projection, or a fused K|V (GPT-2's cross-attention c_attn)
    mask = torch.zeros(rows, dtype=torch.bool)
    mask[: n_in if slot.fused else rows] = True
    return mask


ATTENTION_FAMILIES = [name for name in testing.names() if any(s.role is Role.ATTENTION_IN for s in family(name).slots)]


@pytest.mark.parametrize("name", ATTENTION_FAMILIES)
def test_query_option_small_draws_the_query_rows_and_nothing_else(name):
    """idinit_query="small": every query row (a query projection, a fused Q|K|V's query block or rows, a
    cross-attention's query) holds SmallInit N(0, 2/(5·fan-in)) (× d_head^-½ where the attention does not scale its
    logits: T5's fold), its bias 0; every other entry of the model is the one idinit_query="idi" writes, bit for bit;
    verify rebuilds it."""
    config = dict(init_method="idinit", idinit_seed=4)
    torch.manual_seed(0)  # the library's random layers (position tables, norms' defaults) draw alike in both builds
    small = testing.tiny_model(name, width=64, idinit_query="small", **config)
    torch.manual_seed(0)
    base = dict(testing.tiny_model(name, width=64, idinit_query="idi", **config).named_parameters())
    queries = {id(located.module.weight): (located, mask)
               for located in role_slots(small, Role.ATTENTION_IN, Role.CROSS_ATTENTION_IN)
               if (mask := query_rows(located)) is not None}
    assert queries, "no query found"
    for param_name, param in small.named_parameters():
        if id(param) not in queries:
            assert torch.equal(param, base[param_name]), param_name
            continue
        located, mask = queries[id(param)]
        matrix, reference = as_matrix(param.detach(), located.slot), as_matrix(base[param_name].detach(), located.slot)
        fold = located.heads[0] ** -0.5 if located.slot.unscaled_logits and located.heads else 1.0
        std = math.sqrt(2 / (5 * matrix.shape[1])) * fold
        assert abs(float(matrix[mask].std()) / std - 1) < 0.15, param_name
        assert torch.equal(matrix[~mask], reference[~mask]), param_name
        assert not torch.equal(matrix[mask], reference[mask]), param_name
    assert idinit_hf.verify(small).ok


MLP_FAMILIES = [name for name in testing.names()
                if any(s.role is Role.MLP_OUT and not s.normed for s in family(name).slots)]


@pytest.mark.parametrize("name", MLP_FAMILIES)
def test_mlp_out_option_default_leaves_the_mlp_outputs_to_the_library_and_nothing_else(name):
    """idinit_mlp_out="default": every MLP output (a down projection, each expert's; not one a norm follows) is the
    library's, which verify reports as such; every weight IDInit writes is the one idinit_mlp_out="idiz" writes, bit
    for bit (IDInit's draws are seeded per parameter, whatever the library drew before)."""
    config = dict(init_method="idinit", idinit_seed=4)
    library = testing.tiny_model(name, width=64, idinit_mlp_out="default", **config)
    paper = dict(testing.tiny_model(name, width=64, idinit_mlp_out="idiz", **config).named_parameters())
    checks = idinit_hf.verify(library)
    assert checks.ok
    mlp_out = [layer for layer in checks.layers if layer.role is Role.MLP_OUT]
    assert mlp_out, "no MLP output found"
    for layer in checks.layers:
        weight = library.get_parameter(layer.name)
        if layer.role is Role.MLP_OUT:
            assert layer.rule is Rule.DEFAULT and layer.matches is None, layer.name
            if layer.name.endswith("weight"):  # the library's random draw: neither IDIZε nor left at zero
                assert not torch.equal(weight, paper[layer.name]), layer.name
                assert float(weight.detach().float().std()) > 1e-4, layer.name
        elif layer.rule not in (Rule.DEFAULT, Rule.TIED):
            assert torch.equal(weight, paper[layer.name]), layer.name


def test_query_scale_one_gives_the_papers_identity_query():
    """GPT-2 defaults to Q = 0 and ViT to a SmallInit query (Family.option_defaults); BERT keeps Q = I; a value in the
    config wins."""
    model = idinit_hf.IDInitViTModel(family("vit").example_config(init_method="idinit", idinit_query="idi",
                                                                  idinit_query_scale=1.0))
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
