"""The mixture-of-experts families (mixtral, qwen2_moe, deepseek_v3, gpt_oss): every covered model type is exact and
an identity at init with a role for every weight of its blocks, and every causal LM of the installed transformers
with exactly one of their layouts is covered (found by building each one, as tests/families/test_llama.py does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import pytest
import torch
import transformers
from helpers import family, inputs, model_type_sweep
from transformers import AutoConfig
from transformers.models.auto import modeling_auto

import idinit_hf
from idinit_hf.diagnostics import role_slots
from idinit_hf.init import gate_up_parts
from idinit_hf.patterns import expert_matrices, slot_parameters
from idinit_hf.roles import Role

MOE_FAMILIES = ("mixtral", "qwen2_moe", "deepseek_v3", "gpt_oss")
COVERED = [(name, t) for name in MOE_FAMILIES for t in family(name).model_types]


def build(name: str, model_type: str, **config):
    fam = family(name)
    return idinit_hf.AutoModelForCausalLM.from_config(
        fam.example_config(model_type, vocab_size=256, init_method="idinit", **config))


def slotted_parameters(model) -> set[str]:
    """Every parameter some slot of the family's table holds (biases included), whatever its rule."""
    return {f"{located.path}.{name}" for located in role_slots(model, *Role)
            for name, _ in slot_parameters(located.module, located.slot, with_bias=True)}


@pytest.mark.parametrize("name, model_type", model_type_sweep(COVERED))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(name, model_type):
    torch.manual_seed(0)
    model = build(name, model_type)
    report = idinit_hf.verify(model)
    written = [layer for layer in report.layers if layer.matches]
    assert report.ok and len(written) >= 6 * model.config.num_hidden_layers, str(report)
    in_blocks = {n for n, _ in model.named_parameters() if ".layers." in n}
    assert in_blocks <= slotted_parameters(model)  # every weight inside a decoder block has a role
    identity = idinit_hf.identity_report(model, inputs(name))
    assert identity.max_identity_error() < 1e-3 and identity.max_branch() < 1e-3  # issue 20: |f(x) − x| / |x|


@pytest.mark.parametrize("name", MOE_FAMILIES)
def test_every_mixture_gives_its_experts_a_gradient_from_idinit(name):
    """One backward pass from IDInit (one layout at a time): a finite loss, and every stacked expert weight gets a
    gradient although its output starts at ≈ 0."""
    torch.manual_seed(0)
    model = build(name, family(name).model_types[0])
    loss = model(input_ids=inputs(name)["input_ids"], labels=inputs(name)["input_ids"]).loss
    loss.backward()
    experts = [getattr(located.module, located.slot.params[0]) for located in role_slots(model, Role.MLP_OUT)
               if located.slot.experts]
    assert torch.isfinite(loss) and experts
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in experts)


# ---- coverage: every causal LM with exactly one of these layouts ----------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """A decoder-layer layout as parameter names: every block is one of ``forms`` ((required, optional) names, after
    ``rename``), at least one block is a mixture (the first form), and nothing outside the blocks but ``OUTSIDE``."""

    forms: tuple[tuple[frozenset[str], frozenset[str]], ...]
    rename: tuple[tuple[str, str], ...] = ()
    experts: dict = field(default_factory=dict, hash=False)  # the expert storage the table says: probed below


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


ATTENTION = _names(*(f"self_attn.{p}_proj.weight" for p in "qkvo"))
ATTENTION_OPTIONAL = _names(*(f"self_attn.{p}_proj.bias" for p in "qkvo"), "self_attn.q_norm.weight",
                            "self_attn.k_norm.weight")
NORMS = _names("input_layernorm.weight", "post_attention_layernorm.weight")
NORMS_OPTIONAL = _names("input_layernorm.bias", "post_attention_layernorm.bias")
EXPERTS = _names("mlp.experts.gate_up_proj", "mlp.experts.down_proj")
DENSE = _names("mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")
SHARED = _names("mlp.shared_expert.gate_proj.weight", "mlp.shared_expert.up_proj.weight",
                "mlp.shared_expert.down_proj.weight", "mlp.shared_expert_gate.weight")
SHARED_EXPERTS = _names("mlp.shared_experts.gate_proj.weight", "mlp.shared_experts.up_proj.weight",
                        "mlp.shared_experts.down_proj.weight")
GRANITE_SHARED = _names("shared_mlp.input_linear.weight", "shared_mlp.output_linear.weight")
MLA = _names("self_attn.kv_a_proj_with_mqa.weight", "self_attn.kv_a_layernorm.weight", "self_attn.kv_b_proj.weight",
             "self_attn.o_proj.weight")
MLA_OPTIONAL = _names("self_attn.q_proj.weight", "self_attn.q_a_proj.weight", "self_attn.q_a_layernorm.weight",
                      "self_attn.q_b_proj.weight")
OUTSIDE = _names("model.embed_tokens.weight", "model.norm.weight", "model.norm.bias", "lm_head.weight")

LAYOUTS = {
    "mixtral": Layout(
        forms=((ATTENTION | NORMS | EXPERTS | {"mlp.gate.weight"}, ATTENTION_OPTIONAL | NORMS_OPTIONAL | GRANITE_SHARED),
               (ATTENTION | NORMS | DENSE, ATTENTION_OPTIONAL | NORMS_OPTIONAL)),
        rename=(("block_sparse_moe.", "mlp."), ("mlp.router.", "mlp.gate.")),
        experts=dict(transposed=False, gate_up="halves")),
    "qwen2_moe": Layout(
        forms=((ATTENTION | NORMS | EXPERTS | SHARED | {"mlp.gate.weight"}, ATTENTION_OPTIONAL | NORMS_OPTIONAL),
               (ATTENTION | NORMS | DENSE, ATTENTION_OPTIONAL | NORMS_OPTIONAL)),
        experts=dict(transposed=False, gate_up="halves")),
    "deepseek_v3": Layout(
        forms=((MLA | NORMS | EXPERTS | SHARED_EXPERTS | {"mlp.gate.weight"}, MLA_OPTIONAL),
               (MLA | NORMS | DENSE, MLA_OPTIONAL)),
        experts=dict(transposed=False, gate_up="halves")),
    "gpt_oss": Layout(
        forms=((ATTENTION | ATTENTION_OPTIONAL - {"self_attn.q_norm.weight", "self_attn.k_norm.weight"} | NORMS
                | {"self_attn.sinks", "mlp.router.weight", "mlp.router.bias", "mlp.experts.gate_up_proj",
                   "mlp.experts.gate_up_proj_bias", "mlp.experts.down_proj", "mlp.experts.down_proj_bias"},
                frozenset()),),
        experts=dict(transposed=True, gate_up="interleaved")),
}
#: One example config that builds every layout: the union of the four families' examples (DeepSeek's last: no
#: head_dim, as many key/value heads as heads; keys a model type does not know are ignored).
MOE_EXAMPLE = {k: v for name in MOE_FAMILIES for k, v in family(name).example.items()}
MOE_EXAMPLE.pop("head_dim")


@cache
def tiny_causal_lm(model_type: str):
    """A tiny stock causal LM of ``model_type`` on the meta device, or None where such a config cannot be built."""
    try:
        config = AutoConfig.for_model(model_type, **MOE_EXAMPLE)
        with torch.device("meta"):
            return transformers.AutoModelForCausalLM.from_config(config)
    except Exception:  # model types whose configs need other fields, or that refuse these values
        return None


def block_names(layer, rename) -> set[str]:
    names = set()
    for name, _ in layer.named_parameters():
        for old, new in rename:
            name = name.replace(old, new)
        names.add(name)
    return names


def has_layout(model, model_type: str, layout: Layout) -> bool:
    if model is None or model.config.model_type != model_type:
        return False  # not buildable, or the text part of a multimodal config
    layers = getattr(getattr(model, "model", None), "layers", None)
    if not layers:
        return False
    forms = [next((i for i, (required, optional) in enumerate(layout.forms)
                   if required <= block_names(layer, layout.rename) <= required | optional), None)
             for layer in layers]
    if None in forms or 0 not in forms:
        return False
    return {name for name, _ in model.named_parameters() if not name.startswith("model.layers.")} <= OUTSIDE


@torch.no_grad()
def gate_is_where_the_table_says(model_type: str, layout: Layout) -> bool:
    """A functional probe of the expert storage: with the gate part (as the table reads it) zero and everything else
    random, every expert outputs exactly 0 (act(0) = 0 in SwiGLU and in GPT-OSS's clamped GLU); were the gate
    elsewhere (the other half, interleaved rows, the other storage order), the output would not be 0."""
    config = AutoConfig.for_model(model_type, **MOE_EXAMPLE)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config)
    experts = next(m for m in model.modules() if type(m).__name__.endswith("Experts"))
    for param in experts.parameters():
        param.normal_()
    for name, param in experts.named_parameters():
        if name.endswith("bias"):
            param.zero_()
    slot = idinit_hf.Slot("Experts", "", Role.MLP_IN, experts=True, **layout.experts)
    gate, _ = gate_up_parts(expert_matrices(experts.gate_up_proj, slot), layout.experts["gate_up"])
    gate.zero_()
    x = torch.randn(5, config.hidden_size)
    for expert in range(experts.gate_up_proj.shape[0]):
        out = experts(x, torch.full((5, 1), expert), torch.ones(5, 1))
        if not torch.equal(out, torch.zeros_like(out)):
            return False
    return True


@pytest.mark.slow
def test_every_model_type_with_a_mixture_of_experts_layout_is_covered():
    """Every causal LM of the installed transformers that builds from a tiny config is checked against the four
    layouts; those that match one (parameter names, and where the gate of the stacked experts is) are exactly the
    model types of that family."""
    found = {name: set() for name in LAYOUTS}
    for model_type in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        for name, layout in LAYOUTS.items():
            if has_layout(tiny_causal_lm(model_type), model_type, layout):
                assert gate_is_where_the_table_says(model_type, layout), (name, model_type)
                found[name].add(model_type)
    assert found == {name: set(family(name).model_types) for name in LAYOUTS}, {
        name: (sorted(found[name] - set(family(name).model_types)), sorted(set(family(name).model_types) - found[name]))
        for name in LAYOUTS}


@pytest.mark.parametrize("name, model_type", [(name, family(name).model_types[0]) for name in MOE_FAMILIES])
def test_router_logits_are_recorded_and_returned(name, model_type):
    """``output_router_logits=True`` returns every MoE layer's router logits, one row per token, and the auxiliary
    load-balancing loss joins the loss: what transformers' ``test_moe_models_record_router_logits`` asserts (it skips
    on generated classes: it reads ``inspect.getmodule(model_class)``, which is ``idinit_hf.models``)."""
    model = build(name, model_type)
    ids = inputs(name)["input_ids"]
    out = model(input_ids=ids, labels=ids, output_router_logits=True)
    assert out.router_logits is not None and len(out.router_logits) >= 1
    assert all(logits.dim() == 2 and logits.shape[0] == ids.numel() and torch.isfinite(logits).all()
               for logits in out.router_logits)
    assert torch.isfinite(out.loss) and (out.aux_loss is None or torch.isfinite(out.aux_loss))
