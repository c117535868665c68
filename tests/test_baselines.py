"""The practitioners' inits of benchmarks/baselines.py, rule by rule, on every family's benchmark model.

Each method is checked against its rule written out here independently: per role (and per layer where the rule
depends on it) the pooled RMS of the weights against the rule's std (truncated normals: the truncated std), the
truncation bounds, exact zeros, and bit-identical library-default weights wherever the rule leaves the default
(the methods draw after the model is built, so what they do not write is exactly the default build of the same
seed). Models are 128 wide, so every pooled group has ≥ 2 000 entries and the RMS is within ~1.6% (one σ) of the
rule's std; the 6% tolerance held on seeds 0-9.
"""

import copy
import math
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from idinit_hf.diagnostics import role_modules as library_role_modules
from idinit_hf.roles import Role

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import baselines  # noqa: E402
from common import AUTO, METHODS, TRANSFORMERS, model_config  # noqa: E402

DEPTH, WIDTH, SEED = 3, 128, 0
OUTPUTS = (Role.ATTENTION_OUT, Role.MLP_OUT)
TOLERANCE = 0.06
DEFAULT, ZERO, STRUCTURE = "default", "zero", "structure"  # besides (std, cutoff) rules

_models: dict = {}


def model(family: str, method: str = "default") -> nn.Module:
    """The benchmark's model of ``family`` (depth 3, width 128), default init, then ``method``; built once."""
    if (family, "default") not in _models:
        torch.manual_seed(SEED)
        _models[family, "default"] = AUTO[family].from_config(model_config(family, DEPTH, WIDTH, 32, 8))
    if (family, method) not in _models:
        torch.manual_seed(SEED + 1)
        built = copy.deepcopy(_models[family, "default"])
        baselines.BASELINES[method](built)
        _models[family, method] = built
    return _models[family, method]


def truncated_std(std: float, cutoff: float | None) -> float:
    """The std of N(0, std²) truncated at ±cutoff·std."""
    if cutoff is None:
        return std
    density = math.exp(-cutoff**2 / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(cutoff / math.sqrt(2))
    return std * math.sqrt(1 - 2 * cutoff * density / mass)


def rule(method: str, net: nn.Module, role: Role, layer: int | None, param: nn.Parameter):
    """What ``method`` writes into ``param`` (a weight of ``role`` in block ``layer``): the issue's rules."""
    d, depth = WIDTH, DEPTH
    if role in baselines.GAINS:
        return DEFAULT
    if method == "zero-branch-out":
        return ZERO if role in OUTPUTS else DEFAULT
    if method == "depth-scaled":
        return (0.02 / math.sqrt(2 * depth), None) if role in OUTPUTS else DEFAULT
    if method == "neox":
        return (2 / (depth * math.sqrt(d)), None) if role in OUTPUTS else (math.sqrt(2 / (5 * d)), None)
    if method == "olmo2":
        return 0.02, 3.0
    if method == "mimetic":
        return STRUCTURE if role in (Role.ATTENTION_IN, Role.ATTENTION_OUT) else DEFAULT
    assert method == "depth-init"
    scaled = (0.02 / math.sqrt(2 * (layer + 1)), None) if layer is not None else None
    gated = bool(library_role_modules(net, Role.MLP_GATE))
    table, head = net.get_input_embeddings(), net.get_output_embeddings()
    untied = isinstance(table, nn.Embedding) and head is not None and head.weight is not table.weight
    if role in (Role.ATTENTION_IN, Role.MLP_GATE) or (role is Role.MLP_IN and not gated):
        return 0.02, None
    if role in OUTPUTS or role is Role.MLP_IN:
        return scaled
    if untied and param is table.weight:
        return 1.0, None
    if untied and param is head.weight:
        return d**-0.5, 3.0
    return DEFAULT


def weights(net: nn.Module):
    """(role, block index or None, module, parameter) of every weight the library's role table names."""
    family = baselines.family_of(net)
    layer_of = {id(m): i for i, block in enumerate(m for m in net.modules() if family.is_block(m))
                for m in block.modules()}
    table = net.get_input_embeddings()
    for role in Role:
        for module in library_role_modules(net, role):
            for name, param in module.named_parameters(recurse=False):
                tied_head = role is not Role.EMBEDDING and param is getattr(table, "weight", None)
                if name != "bias" and not tied_head:
                    yield role, layer_of.get(id(module)), module, param


CASES = [(method, family) for method in baselines.BASELINES for family in TRANSFORMERS]


@pytest.mark.parametrize("method, family", CASES)
def test_every_weight_follows_the_rule(method, family):
    net, default = model(family, method), model(family)
    default_params = dict(default.named_parameters())
    name_of = {id(p): n for n, p in net.named_parameters()}
    groups: dict = {}
    for role, layer, _, param in weights(net):
        expected = rule(method, net, role, layer, param)
        if expected == DEFAULT:
            assert torch.equal(param, default_params[name_of[id(param)]]), (role, name_of[id(param)])
        elif expected == ZERO:
            assert not param.any(), name_of[id(param)]
        elif expected != STRUCTURE:
            groups.setdefault(expected, []).append(param.detach().flatten())
    for (std, cutoff), parts in groups.items():
        values = torch.cat(parts)
        rms = float(values.square().mean().sqrt())
        assert values.numel() >= 2000 and abs(rms / truncated_std(std, cutoff) - 1) < TOLERANCE, (std, cutoff, rms)
        if cutoff is not None:
            assert float(values.abs().max()) <= cutoff * std * (1 + 1e-6)


@pytest.mark.parametrize("method, family", CASES)
def test_biases_of_written_layers_are_zero(method, family):
    net = model(family, method)
    for role, _, module, param in weights(net):
        bias = getattr(module, "bias", None)
        if isinstance(bias, nn.Parameter) and rule(method, net, role, None, param) not in (DEFAULT, None):
            assert not bias.any(), (method, role)


@pytest.mark.parametrize("family", TRANSFORMERS)
def test_depth_init_scales_each_block_by_its_index(family):
    """Branch outputs of block l: std 0.02/√(2(l+1)), so block l over block 0 is 1/√(l+1)."""
    net = model(family, "depth-init")
    per_layer = {}
    for role, layer, _, param in weights(net):
        if role in OUTPUTS:
            per_layer.setdefault(layer, []).append(param.detach().flatten())
    rms = {layer: float(torch.cat(parts).square().mean().sqrt()) for layer, parts in per_layer.items()}
    assert sorted(rms) == list(range(DEPTH))
    for layer, value in rms.items():
        assert abs(value / rms[0] * math.sqrt(layer + 1) - 1) < 2 * TOLERANCE, rms


@pytest.mark.parametrize("family", TRANSFORMERS)
def test_megatron_inputs_are_normal_002(family):
    """The issue's Megatron rule has inputs N(0, 0.02²): the library default that depth-scaled keeps."""
    net = model(family, "depth-scaled")
    inputs = [p.detach().flatten() for role, _, _, p in weights(net)
              if role in (Role.ATTENTION_IN, Role.MLP_IN, Role.MLP_GATE, Role.EMBEDDING)]
    rms = float(torch.cat(inputs).square().mean().sqrt())
    assert abs(rms / 0.02 - 1) < TOLERANCE


def _identity_correlation(matrix: torch.Tensor) -> float:
    return float(torch.corrcoef(torch.stack([matrix.flatten(), torch.eye(len(matrix)).flatten()]))[0, 1])


def _attention_products(net: nn.Module):
    """Per block: W_qʰᵀ W_kʰ of every query head, and the value-output map W_o W_v (key/value heads repeated
    for their query heads under grouped-query attention)."""
    heads, kv_heads, k = baselines.attention_layout(net)
    group = heads // kv_heads
    for block in baselines.blocks(net):
        wq, wk, wv, wo = (t.detach() for t in baselines.attention_matrices(net, block))
        query_key = [wq[h * k:(h + 1) * k].t() @ wk[h // group * k:(h // group + 1) * k] for h in range(heads)]
        wv_per_head = wv.view(kv_heads, k, -1).repeat_interleave(group, 0).reshape(heads * k, -1)
        yield query_key, wo @ wv_per_head


@pytest.mark.parametrize("family", TRANSFORMERS)
def test_mimetic_query_key_near_identity_and_value_output_near_minus_identity(family):
    """Per head W_qᵀW_k ≈ 0.7Z + 0.7I (rank k: correlation with I ≈ 0.3), per block W_oW_v ≈ 0.4Z - 0.4I; the
    default init's products are uncorrelated with I (|r| < 0.05 on every seed tried)."""
    for method, sign in (("mimetic", 1), ("default", 0)):
        net = model(family) if method == "default" else model(family, method)
        for query_key, value_output in _attention_products(net):
            for product in query_key:
                r = _identity_correlation(product)
                assert r > 0.2 if sign else abs(r) < 0.1, (method, r)
            r = _identity_correlation(value_output)
            assert r < -0.5 if sign else abs(r) < 0.1, (method, r)


@pytest.mark.parametrize("family", ["gpt2", "bert", "vit"])
def test_mimetic_value_output_is_exact_in_multi_head_attention(family):
    """With as many key/value heads as query heads, W_o W_v = 0.4Z - 0.4I exactly: diagonal mean -0.4,
    off-diagonal entries with std 0.4/√d."""
    for _, value_output in _attention_products(model(family, "mimetic")):
        off = value_output[~torch.eye(WIDTH, dtype=torch.bool)]
        assert abs(float(value_output.diagonal().mean()) + 0.4) < 0.02
        assert abs(float(off.std()) / (0.4 / math.sqrt(WIDTH)) - 1) < TOLERANCE


@pytest.mark.parametrize("family", TRANSFORMERS)
def test_the_role_table_covers_every_parameter(family):
    """Every parameter of the model belongs to a module of the family's table: a baseline rewrites or keeps each."""
    net = model(family)
    covered = {id(p) for m in baselines.role_modules(net, *Role) for p in m.parameters(recurse=False)}
    assert [n for n, p in net.named_parameters() if id(p) not in covered] == []


def test_every_baseline_is_a_benchmark_method_for_every_transformer_family():
    for name in baselines.BASELINES:
        options, init, families = METHODS[name]
        assert options == {} and init is baselines.BASELINES[name] and families == TRANSFORMERS


def test_padding_row_stays_zero():
    """BERT's token table has a padding index: methods that redraw the table keep its row 0, as torch does."""
    for method in ("neox", "olmo2"):
        table = model("bert", method).get_input_embeddings()
        assert table.padding_idx is not None and not table.weight[table.padding_idx].any()
