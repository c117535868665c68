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
from typing import NamedTuple

import pytest
import torch
from torch import nn

import idinit_hf
from idinit_hf import testing
from idinit_hf.diagnostics import _input_embeddings as input_embeddings
from idinit_hf.diagnostics import role_slots as library_role_slots
from idinit_hf.roles import QUERY, Role

# Runs benchmark code (benchmarks/baselines.py) on the benchmark's 128-wide models of every family and method:
# about 10 s of CPU, a third of the quick tier's budget, for code the library does not import.
pytestmark = pytest.mark.slow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import baselines  # noqa: E402
from common import AUTO, FAMILIES, METHODS, TRANSFORMERS, model_config  # noqa: E402

DEPTH, WIDTH, SEED = 3, 128, 0
OUTPUTS = (Role.ATTENTION_OUT, Role.MLP_OUT)
TOLERANCE = 0.06
DEFAULT, ZERO, ZERO_GAIN, STRUCTURE = "default", "zero", "zero gain", "structure"  # besides (std, cutoff) rules

_models: dict = {}


def model(family: str, method: str = "default") -> nn.Module:
    """The benchmark's model of ``family`` (depth 3, width 128), default init, then ``method``; built once."""
    if (family, "default") not in _models:
        torch.manual_seed(SEED)
        _models[family, "default"] = AUTO[family].from_config(model_config(family, DEPTH, WIDTH, 32, 8))
    if method == "mimetic" and not separate_query_key_value(_models[family, "default"]):
        pytest.skip("no per-head Q, K, V of the hidden state: Mimetic refuses it (test_mimetic_refuses_...)")
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


class Weight(NamedTuple):
    """One weight a rule sees: a slot's parameter, or the gate or up part of a fused gate|up weight."""

    role: Role
    layer: int | None  # block index, None outside the blocks
    name: str  # the parameter's name, ":gate" / ":up" for a part of a fused gate|up weight
    values: torch.Tensor  # the parameter, or a view of its part (``… x out x in``, stacked experts whole)
    biases: tuple[nn.Parameter, ...]  # the slot's biases (``slot.biases``)
    gated: bool  # an MLP input next to a gate (torchtitan's w3): the up part of a fused gate|up, or a block's gate
    gain_offset: float = 0.0  # a norm's: what it adds to the stored weight to get its gain (Gemma 2's 1 + w)


def weights(net: nn.Module):
    """Every weight the family's role table names (each located slot's ``params``: ``weight``, stacked experts'
    ``gate_up_proj`` / ``down_proj``, GPT-OSS's ``sinks``, ViT's class token), in module order; a head tied to the
    token table is skipped (it is the table). A fused gate|up weight is two weights: its gate part (rows of the
    first half, or the even rows of the ``out x in`` view of GPT-OSS's transposed ``E x in x out`` storage) with the
    gate's role, and its up part with the slot's role."""
    family = baselines.family_of(net)
    layer_of = {id(m): i for i, block in enumerate(m for m in net.modules() if family.is_block(m))
                for m in block.modules()}
    gate_blocks = {layer_of.get(id(located.module)) for located in library_role_slots(net, Role.MLP_GATE)}
    name_of = {id(p): n for n, p in net.named_parameters()}
    table = input_embeddings(net)  # None in a convolutional network
    for located in library_role_slots(net, *Role):
        slot, module, layer = located.slot, located.module, layer_of.get(id(located.module))
        biases = tuple(b for n in slot.biases if isinstance(b := getattr(module, n, None), nn.Parameter))
        for param in (getattr(module, n, None) for n in slot.params if n not in slot.biases):
            if not isinstance(param, nn.Parameter):
                continue
            if slot.role is not Role.EMBEDDING and param is getattr(table, "weight", None):
                continue
            name = name_of[id(param)]
            if not slot.gate_up:
                gated = slot.role is Role.MLP_IN and layer in gate_blocks
                yield Weight(slot.role, layer, name, param, biases, gated, slot.gain_offset)
                continue
            matrix = param.transpose(-1, -2) if slot.transposed else param
            half = matrix.shape[-2] // 2
            gate, up = ((matrix[..., :half, :], matrix[..., half:, :]) if slot.gate_up == "halves"
                        else (matrix[..., 0::2, :], matrix[..., 1::2, :]))
            yield Weight(Role.MLP_GATE, layer, f"{name}:gate", gate, biases, False)
            yield Weight(slot.role, layer, f"{name}:up", up, biases, True)


def separate_query_key_value(net: nn.Module) -> bool:
    """Whether every block's attention has per-head Q, K and V of the hidden state, what Mimetic sets (from the
    family's table): one fused Q|K|V slot, or three attention-input slots, the query first, each reading the hidden
    size. Not so for a low-rank chain (multi-head latent attention: q_a → q_b, kv_a → kv_b)."""
    per_block: dict = {}
    family = baselines.family_of(net)
    layer_of = {id(m): i for i, block in enumerate(m for m in net.modules() if family.is_block(m))
                for m in block.modules()}
    for located in library_role_slots(net, Role.ATTENTION_IN):
        per_block.setdefault(layer_of[id(located.module)], []).append(located)
    d = net.config.hidden_size
    for inputs in per_block.values():
        if len(inputs) == 1 and (inputs[0].slot.fused or inputs[0].slot.qkv is not None):
            continue
        reads = [getattr(loc.module, loc.slot.params[0]).shape[0 if loc.slot.transposed else -1] for loc in inputs]
        if len(inputs) != 3 or inputs[0].slot.heads != QUERY or reads != [d] * 3:
            return False
    return bool(per_block)


def rule(method: str, net: nn.Module, weight: Weight):
    """What ``method`` writes into ``weight``: the issue's rules, and for routers and sinks the recipes' own
    (baselines.py's docstrings)."""
    d, depth, role, layer = WIDTH, DEPTH, weight.role, weight.layer
    if method == "zero-init-residual":
        return ZERO_GAIN if role in (Role.ATTENTION_OUT_NORM, Role.MLP_OUT_NORM) else DEFAULT
    if role in baselines.GAINS or role is Role.PLACEHOLDER_TOKEN:  # no recipe draws a mask or register token
        return DEFAULT
    if method == "zero-branch-out":
        return ZERO if role in OUTPUTS else DEFAULT
    if method == "depth-scaled":
        return (0.02 / math.sqrt(2 * depth), None) if role in OUTPUTS else DEFAULT
    if method == "mimetic":
        return STRUCTURE if role in (Role.ATTENTION_IN, Role.ATTENTION_OUT) else DEFAULT
    if role is Role.ATTENTION_SINK and method != "depth-init":  # only torchtitan's GPT-OSS draws them
        return DEFAULT
    if method == "neox":
        return (2 / (depth * math.sqrt(d)), None) if role in OUTPUTS else (math.sqrt(2 / (5 * d)), None)
    if method == "olmo2":
        return 0.02, 3.0
    assert method == "depth-init"
    scaled = (0.02 / math.sqrt(2 * (layer + 1)), None) if layer is not None else None
    table, head = net.get_input_embeddings(), net.get_output_embeddings()
    untied = isinstance(table, nn.Embedding) and head is not None and head.weight is not table.weight
    if role in (Role.ATTENTION_IN, Role.MLP_GATE) or (role is Role.MLP_IN and not weight.gated):
        return 0.02, None
    if role in (*OUTPUTS, Role.MLP_IN, Role.ROUTER, Role.ATTENTION_SINK):
        return scaled
    if untied and weight.values is table.weight:
        return 1.0, None
    if untied and weight.values is head.weight:
        return d**-0.5, 3.0
    return DEFAULT


CASES = [(method, family) for method in baselines.BASELINES for family in METHODS[method][2]]


@pytest.mark.parametrize("method, family", CASES)
def test_every_weight_follows_the_rule(method, family):
    """Each weight (every expert's, each part of a fused gate|up) is the library's, 0, or drawn anew with the std
    (and truncation) of its rule, pooled per rule."""
    net, default = model(family, method), model(family)
    default_values = {weight.name: weight.values for weight in weights(default)}
    groups: dict = {}
    for weight in weights(net):
        expected, before = rule(method, net, weight), default_values[weight.name]
        if expected == DEFAULT:
            assert torch.equal(weight.values, before), (weight.role, weight.name)
        elif expected == ZERO:
            assert not weight.values.any(), weight.name
        elif expected == ZERO_GAIN:  # the stored weight is minus the offset: a gain of exactly 0
            assert torch.equal(weight.values + weight.gain_offset, torch.zeros_like(weight.values)), weight.name
        else:
            assert not torch.equal(weight.values, before), ("not written", weight.role, weight.name)
            if expected != STRUCTURE:
                groups.setdefault(expected, []).append(weight.values.detach().flatten())
    for (std, cutoff), parts in groups.items():
        values = torch.cat(parts)
        rms = float(values.square().mean().sqrt())
        assert values.numel() >= 2000 and abs(rms / truncated_std(std, cutoff) - 1) < TOLERANCE, (std, cutoff, rms)
        if cutoff is not None:
            assert float(values.abs().max()) <= cutoff * std * (1 + 1e-6)


@pytest.mark.parametrize("method, family", CASES)
def test_biases_of_written_layers_are_zero(method, family):
    """Every bias the slot names (``bias``, GPT-OSS's ``gate_up_proj_bias`` / ``down_proj_bias``, its router's) is 0
    where the method writes the weight."""
    net = model(family, method)
    for weight in weights(net):
        if rule(method, net, weight) not in (DEFAULT, None):
            for bias in weight.biases:
                assert not bias.any(), (method, weight.name)


@pytest.mark.parametrize("family", TRANSFORMERS)
def test_depth_init_scales_each_block_by_its_index(family):
    """Branch outputs of block l: std 0.02/√(2(l+1)), so block l over block 0 is 1/√(l+1)."""
    net = model(family, "depth-init")
    per_layer = {}
    for weight in weights(net):
        if weight.role in OUTPUTS:
            per_layer.setdefault(weight.layer, []).append(weight.values.detach().flatten())
    rms = {layer: float(torch.cat(parts).square().mean().sqrt()) for layer, parts in per_layer.items()}
    assert sorted(rms) == list(range(DEPTH))
    for layer, value in rms.items():
        assert abs(value / rms[0] * math.sqrt(layer + 1) - 1) < 2 * TOLERANCE, rms


@pytest.mark.parametrize("family", TRANSFORMERS)
def test_megatron_inputs_are_normal_002(family):
    """The issue's Megatron rule has inputs N(0, 0.02²): the library default that depth-scaled keeps (ModernBERT's
    library init truncates it at ±initializer_cutoff_factor·σ)."""
    net = model(family, "depth-scaled")
    inputs = [weight.values.detach().flatten() for weight in weights(net)
              if weight.role in (Role.ATTENTION_IN, Role.MLP_IN, Role.MLP_GATE, Role.EMBEDDING)]
    rms = float(torch.cat(inputs).square().mean().sqrt())
    # the library's std (0.02, StarCoder2 0.018, Nemotron 0.0134), truncated where the config says so (ModernBERT)
    std = getattr(net.config, "initializer_range", 0.02)
    assert abs(rms / truncated_std(std, getattr(net.config, "initializer_cutoff_factor", None)) - 1) < TOLERANCE


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
    default init's products are uncorrelated with I (|r| < 0.05 on every seed tried). W_oW_v has the rank of the
    key/value rows: with fewer key/value heads its correlation with -I shrinks (-0.70 at full rank, -0.57 at half,
    -0.30 at 1/8: Falcon's multi-query attention), so the bound is -0.5·√(rank/d)."""
    heads, kv_heads, k = baselines.attention_layout(model(family))
    value_output_bound = -0.5 * (kv_heads * k / (heads * k)) ** 0.5
    for method, sign in (("mimetic", 1), ("default", 0)):
        net = model(family) if method == "default" else model(family, method)
        for query_key, value_output in _attention_products(net):
            for product in query_key:
                r = _identity_correlation(product)
                assert r > 0.2 if sign else abs(r) < 0.1, (method, r)
            r = _identity_correlation(value_output)
            assert r < value_output_bound if sign else abs(r) < 0.1, (method, r)


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
    """Every parameter of the model is named by a slot of the family's table, as a weight (``slot.params``) or a
    bias (``slot.biases``): a baseline rewrites or keeps each, and :func:`weights` sees every weight."""
    net = model(family)
    covered = {id(getattr(located.module, name)) for located in library_role_slots(net, *Role)
               for name in (*located.slot.params, *located.slot.biases)
               if isinstance(getattr(located.module, name, None), nn.Parameter)}
    assert [n for n, p in net.named_parameters() if id(p) not in covered] == []


@pytest.mark.parametrize("family", TRANSFORMERS)
def test_mimetic_refuses_attention_without_per_head_query_key_value(family):
    """Where the table has no per-head Q, K, V of the hidden state (multi-head latent attention's low-rank chains),
    Mimetic raises one ValueError naming the model type, and writes nothing; elsewhere it applies."""
    default = model(family)
    if separate_query_key_value(default):
        assert model(family, "mimetic") is not default
        return
    net = copy.deepcopy(default)
    with pytest.raises(ValueError, match=f"model_type={net.config.model_type!r}.*latent attention"):
        baselines.mimetic_init_(net)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), default.parameters(), strict=True))


#: The families whose residual branches end in a norm with a gain, the ones zero-γ applies to (written out: a new
#: family of that layout must be added here on purpose).
BRANCH_NORM_FAMILIES = ["olmo2", "gemma2", "gemma4_unified", "hyperclovax", "resnet", "regnet"]


def test_every_baseline_is_a_benchmark_method_for_every_family_it_applies_to():
    """The transformer recipes: every family of one stack of transformer blocks, but for Mimetic only those whose
    table has per-head Q, K, V (the benchmark model's); zero-γ: the families whose branches end in a norm."""
    for name in baselines.BASELINES:
        options, init, families = METHODS[name]
        if name == "zero-init-residual":
            applies = [f for f in FAMILIES if f in BRANCH_NORM_FAMILIES]
        else:
            applies = [f for f in TRANSFORMERS if name != "mimetic" or separate_query_key_value(model(f))]
        assert options == {} and init is baselines.BASELINES[name] and list(families) == applies


@pytest.mark.parametrize("family", BRANCH_NORM_FAMILIES)
def test_zero_init_residual_makes_every_block_the_identity(family):
    """Zero-γ: every residual block returns its input (a ResNet block up to its ReLU, on the non-negative input it
    gets), where the library's default init does not."""
    stock = idinit_hf.identity_report(model(family), testing.inputs(family)).max_identity_error()
    zeroed = idinit_hf.identity_report(model(family, "zero-init-residual"), testing.inputs(family))
    assert zeroed.max_identity_error() < 1e-6 < stock


def test_padding_row_stays_zero():
    """BERT's token table has a padding index: methods that redraw the table keep its row 0, as torch does."""
    for method in ("neox", "olmo2"):
        table = model("bert", method).get_input_embeddings()
        assert table.padding_idx is not None and not table.weight[table.padding_idx].any()


@pytest.mark.parametrize("family, swapped", [
    ("olmo2", "attention_out,mlp_out,attention_out_norm,mlp_out_norm"),
    ("gpt2", "attention_in,mlp_out"),  # GPT-2's biases move too
    ("llama", "attention_in,mlp_gate,head"),
    ("vit", "attention_in:v_proj"),  # narrowed to a path: the value projections alone (and their biases)
    ("vit", "attention_in:q_proj,attention_in:k_proj,patch_embedding"),
])
def test_swap_probe_takes_the_donors_weights_in_its_roles_and_the_bases_elsewhere(family, swapped):
    """``idinit+depth-init[roles]``: every parameter of the named roles (or of their slots at a path) is
    depth-init's of the same seed, bit for bit, and every other parameter IDInit's (the probe copies, it does not
    draw)."""
    from common import build

    probe, base, donor = (build(family, method, DEPTH, 32, 32, 8, SEED)
                          for method in (f"idinit+depth-init[{swapped}]", "idinit", "depth-init"))
    moved = set()
    for target in swapped.split(","):
        role, _, path = target.partition(":")
        moved |= {id(param) for _, _, param in baselines.role_parameters(probe, Role(role), path=path or None)}
        moved |= {id(bias) for module, slot in baselines.role_slots(probe, Role(role), path=path or None)
                  for bias in baselines.slot_biases(module, slot)}
    base, donor = dict(base.named_parameters()), dict(donor.named_parameters())
    assert moved
    for name, param in probe.named_parameters():
        assert torch.equal(param, (donor if id(param) in moved else base)[name]), name


def test_a_narrowed_swap_moves_only_the_slots_at_its_path():
    """``attention_in:v_proj`` moves the value projections, not the queries and keys of the same role."""
    from common import build

    probe = build("vit", "idinit+depth-init[attention_in:v_proj]", DEPTH, 32, 32, 8, SEED)
    base = build("vit", "idinit", DEPTH, 32, 32, 8, SEED)
    changed = {name for name, param in probe.named_parameters() if not torch.equal(param, base.get_parameter(name))}
    assert changed and all(".v_proj." in name for name in changed)


@pytest.mark.parametrize("name, message", [("idinit+depth-init[mlp]", "'mlp' is not a role"),
                                           ("idinit+nope[mlp_out]", "unknown method 'nope'"),
                                           ("neox+unit-table", "adds to an IDInit variant"),
                                           ("idinit+depth-init[mlp_out]+unit-table", "adds to an IDInit variant")])
def test_probes_refuse_unknown_roles_and_methods(name, message):
    from common import method_spec

    with pytest.raises(ValueError, match=message):
        method_spec(name)


@pytest.mark.parametrize("family, role", [("llama", "attention_out_norm"), ("gpt2", "head"),  # absent; tied
                                          ("vit", "attention_in:c_attn")])  # a path the role has no slot at
def test_swap_probe_refuses_a_role_with_nothing_to_copy(family, role):
    """Else the probe would run as its base method under another name."""
    from common import build

    name, _, path = role.partition(":")
    with pytest.raises(ValueError, match=f"no untied parameter of role '{name}'" + (f" at path '{path}'" if path else "")):
        build(family, f"idinit+depth-init[{role}]", DEPTH, 32, 32, 8, SEED)
