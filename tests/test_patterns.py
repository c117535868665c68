"""What a rule writes into one layer (idinit_hf/patterns.py): slots located by the family table without touching the
model, tags for the init pass, per-parameter seeds, and the pure pattern writer that verify reuses."""

import math

import pytest
import torch
from helpers import NAMES, family, stacked_identity, tiny
from transformers import GPT2Config

import idinit_hf
from idinit_hf.init import idiz_pattern
from idinit_hf.options import IDInitOptions
from idinit_hf.patterns import (
    INITIALIZED_FLAG,
    expert_matrices,
    locate_slots,
    param_seed,
    slot_parameters,
    tag_roles,
    tagged_slots,
    write_pattern,
    write_rule,
)
from idinit_hf.roles import KEY_VALUE, Role, Rule, Slot


@pytest.mark.parametrize("name", NAMES)
def test_locating_slots_reads_only(name):
    model = tiny(name)  # the default init: nothing tagged
    found = locate_slots(model, family(name))
    assert found and not any(tagged_slots(m) for m in model.modules())
    params = dict(model.named_parameters(remove_duplicate=False))  # a tied head's weight too
    for located in found:
        assert any(f"{located.path}.{p}" in params for p in located.slot.params)


@pytest.mark.parametrize("name", NAMES)
def test_names_are_relative_to_the_base_model(name):
    """The same layer has the same name (hence the same loosening seed) under every head."""
    model = tiny(name)
    prefix = f"{model.base_model_prefix}."
    for located in locate_slots(model, family(name)):
        assert located.path.removeprefix(prefix) == located.name


def test_key_value_slots_know_their_head_layout():
    model = tiny("llama")
    heads = {located.heads for located in locate_slots(model, family("llama")) if located.slot.heads == KEY_VALUE}
    config = model.config
    assert heads == {(config.head_dim, config.num_attention_heads // config.num_key_value_heads)}


def test_tagging_is_idempotent():
    model = tiny("gpt2")
    first = tag_roles(model, family("gpt2"))
    assert first == len(locate_slots(model, family("gpt2"))) and tag_roles(model, family("gpt2")) == 0


def test_seeds_are_per_parameter_and_independent_of_order():
    assert param_seed(3, "h.0.mlp.c_fc.weight") == param_seed(3, "h.0.mlp.c_fc.weight")
    assert len({param_seed(3, f"h.{i}.mlp.c_fc.weight") for i in range(50)}) == 50
    assert param_seed(3, "a") != param_seed(4, "a")


def test_write_pattern_is_pure_and_zeroes_a_bias_it_does_not_own():
    model = tiny("bert")
    located = next(x for x in locate_slots(model, family("bert")) if x.slot.role is Role.MLP_OUT)
    tensors = {"weight": torch.full((16, 64), 7.0), "bias": torch.full((16,), 7.0)}
    write_pattern(tensors, located.slot, Rule.IDIZ, IDInitOptions(), 0, name=located.name, is_conv=False,
                  padding_idx=None)
    assert torch.equal(tensors["bias"], torch.zeros(16)) and float(tensors["weight"][0, 0]) == pytest.approx(1e-6)


def test_write_rule_skips_a_parameter_flagged_as_loaded():
    model = tiny("bert")
    located = next(x for x in locate_slots(model, family("bert")) if x.slot.role is Role.MLP_IN)
    weight = located.module.weight
    before = weight.detach().clone()
    setattr(weight, INITIALIZED_FLAG, True)
    write_rule(located.module, located.slot, Rule.IDI, IDInitOptions(), 0, located)
    assert torch.equal(weight.detach(), before)
    assert torch.equal(located.module.bias.detach(), torch.zeros(64))  # the bias was not loaded: written


def test_a_slot_names_the_biases_its_rule_zeroes():
    """GPT-OSS's experts: ``gate_up_proj_bias`` is the bias of ``gate_up_proj`` (zeroed), and the weight stays."""
    experts = torch.nn.Module()
    experts.gate_up_proj = torch.nn.Parameter(torch.ones(2, 3, 4))
    experts.gate_up_proj_bias = torch.nn.Parameter(torch.ones(2, 4))
    slot = Slot("Experts", "", Role.MLP_IN, params=("gate_up_proj",), biases=("gate_up_proj_bias",))
    assert [n for n, _ in slot_parameters(experts, slot, with_bias=True)] == ["gate_up_proj", "gate_up_proj_bias"]
    assert [n for n, _ in slot_parameters(experts, slot, with_bias=False)] == ["gate_up_proj"]


def test_stacked_experts_are_written_one_pattern_per_expert():
    """``E x in x out`` storage (GPT-OSS) seen as ``E x out x in``; each expert its own shift of the IDIZε rows."""
    down = torch.full((4, 6, 8), float("nan"))  # 4 experts, stored in = 6 x out = 8
    slot = Slot("Experts", "", Role.MLP_OUT, params=("down_proj",), transposed=True, experts=True)
    write_pattern({"down_proj": down}, slot, Rule.IDIZ, IDInitOptions(epsilon=1e-3), 0, name="l.experts",
                  is_conv=False, padding_idx=None)
    assert torch.equal(expert_matrices(down, slot)[3], idiz_pattern(8, 6, 1e-3).roll(6, dims=0))  # shift ⌊3·8/4⌋


@pytest.mark.parametrize("offset", [0.0, 1.0])
@pytest.mark.parametrize("pattern", ["constant", "alternating"])
def test_idiz_on_a_branch_norm_writes_its_gain_with_the_slots_offset(offset, pattern):
    """The gain convention is data on the slot: w = ε·s − offset (Gemma's (1 + w) norms: offset 1); a bias is 0."""
    slot = Slot("DecoderLayer", "post_feedforward_layernorm", Role.MLP_OUT_NORM, gain_offset=offset)
    tensors = {"weight": torch.full((4,), 7.0), "bias": torch.full((4,), 7.0)}
    write_pattern(tensors, slot, Rule.IDIZ, IDInitOptions(gain_pattern=pattern), 0, name="n", is_conv=False,
                  padding_idx=None)
    signs = [1.0, -1.0, 1.0, -1.0] if pattern == "alternating" else [1.0] * 4
    assert torch.equal(tensors["weight"], torch.tensor([1e-6 * s - offset for s in signs], dtype=torch.float32))
    assert torch.equal(tensors["bias"], torch.zeros(4))


@pytest.mark.parametrize("gate", ["idi", "default"])
def test_a_stacked_weight_gets_each_blocks_own_rule(gate):
    """``Slot.stacked``: rows [0, 6) are a gate (``idinit_gate``), rows [6, 12) an MLP input (IDIτ, loosened: 6 > 4
    rows); a library block is N(0, std²) from the parameter's generator, the same on every call."""
    slot = Slot("MLP", "Wi", Role.MLP_IN, stacked=(Role.MLP_GATE, Role.MLP_IN))
    options = IDInitOptions(gate=gate)

    def written():
        tensors = {"weight": torch.full((12, 4), float("nan"))}
        write_pattern(tensors, slot, Rule.IDI, options, 0, name="mlp.Wi", is_conv=False, padding_idx=None,
                      init_std=0.5)
        return tensors["weight"]

    weight = written()
    identity = stacked_identity(6, 4)
    assert torch.equal(weight[6:].round(decimals=4), identity) and not torch.equal(weight[6:], identity)
    if gate == "idi":
        assert torch.equal(weight[:6].round(decimals=4), identity)
    else:
        assert 0.2 < float(weight[:6].std()) < 1.0 and not torch.equal(weight[:6].round(decimals=4), identity)
    assert torch.equal(written(), weight)


@pytest.mark.parametrize("width", [32, 128])
def test_fan_in_loosening_is_the_absolute_std_divided_by_root_fan_in(width):
    """idinit_loosening_scale="fan_in" writes exactly what the absolute std loosening·τ/√fan_in writes."""
    def up_projection(**options):
        config = GPT2Config(n_layer=1, n_embd=width, n_head=2, vocab_size=32, n_positions=8, init_method="idinit",
                            idinit_loosening_target="all", idinit_tau=2.0, idinit_seed=3, **options)
        return idinit_hf.AutoModelForCausalLM.from_config(config).transformer.h[0].mlp.c_fc.weight
    relative = up_projection(idinit_loosening=0.5, idinit_loosening_scale="fan_in")
    absolute = up_projection(idinit_loosening=0.5 * 2.0 / math.sqrt(width), idinit_loosening_scale="absolute")
    assert torch.equal(relative, absolute)
    assert not torch.equal(relative, up_projection(idinit_loosening=0.5, idinit_loosening_scale="absolute"))


@pytest.mark.parametrize("factor, scale", [(0.0, "fan_in"), (0.25, "fan_in"), (4.0, "absolute")])
def test_head_loosening_factor_sizes_the_heads_noise_and_nothing_else(factor, scale):
    """``idinit_head_loosening_factor`` multiplies ``idinit_loosening`` on a tall IDIτ head only (read with the same
    scale and target): Llama's untied head gets loosening·factor, the gate and up keep theirs, bit for bit."""
    def build(**options):
        return tiny("llama", init_method="idinit", idinit_loosening=0.5, idinit_loosening_scale=scale,
                    idinit_loosening_target="all", idinit_seed=1, **options)
    own, followed = build(idinit_head_loosening_factor=factor), build(idinit_head_loosening_factor=1.0)
    own_head, fan_in = own.lm_head.weight.detach(), own.lm_head.weight.shape[1]
    plain = stacked_identity(own_head.shape[0], fan_in)
    std = 0.5 * factor / fan_in**0.5 if scale == "fan_in" else 0.5 * factor
    if factor == 0:
        assert torch.equal(own_head, plain)
    else:
        assert abs(float((own_head - plain).std()) / std - 1) < 0.2
    mlp, mlp_followed = own.model.layers[0].mlp, followed.model.layers[0].mlp
    assert torch.equal(mlp.up_proj.weight, mlp_followed.up_proj.weight)
    assert torch.equal(mlp.gate_proj.weight, mlp_followed.gate_proj.weight)
    assert not torch.equal(own_head, followed.lm_head.weight.detach())
    assert idinit_hf.verify(own).ok


@pytest.mark.parametrize("name", ["llama", "modernbert", "mixtral", "resnet"])  # Linear, stacked, experts, conv
def test_fan_in_loosening_has_std_loosening_over_root_fan_in_on_every_path(name):
    """Every weight the loosening touches gets std 0.5/√fan_in (τ = 1), fan_in being the length of the rows IDIτ
    sees: a Linear's in-features, an expert's d, a kernel's c_in·k·k."""
    loose = dict(idinit_loosening=0.5, idinit_loosening_scale="fan_in", idinit_loosening_target="all", idinit_seed=0)
    torch.manual_seed(0)
    loosened = dict(tiny(name, init_method="idinit", **loose).named_parameters())
    torch.manual_seed(0)
    plain = dict(tiny(name, init_method="idinit", **{**loose, "idinit_loosening": 0.0}).named_parameters())
    checked = 0
    for key, weight in loosened.items():
        noise = (weight - plain[key]).detach()
        if weight.dim() < 2 or not noise.any():
            continue
        fan_in = weight[0].numel() if weight.dim() == 4 else weight.shape[-1]
        drawn = noise[noise != 0]
        assert abs(float(drawn.std()) * fan_in**0.5 / 0.5 - 1) < 0.2, key
        checked += 1
    assert checked > 0
