"""The parallel, fused and other non-Llama decoder tables of issue 20, every model type they cover: IDInit weights
exactly as the rules say, every weight inside a block with a role, every block the identity at init; and, per layout,
every causal LM of the installed transformers with exactly that layout is covered (the table locates every parameter
of a tiny stock model and every block holds the four branch roles)."""

from __future__ import annotations

from functools import cache

import pytest
import torch
import transformers
from helpers import family, inputs, model_type_sweep
from transformers.models.auto import modeling_auto

import idinit_hf
from idinit_hf.patterns import locate_slots, slot_parameters
from idinit_hf.roles import Role

#: The families of issue 20 (parallel blocks, fused projections, other non-Llama decoder layouts).
DECODERS = ("gpt_neox", "phi3", "gptj", "falcon", "opt", "gpt_neo", "starcoder2", "bloom", "phi", "cohere", "nemotron",
            "persimmon", "codegen")
COVERED = [(name, model_type) for name in DECODERS for model_type in family(name).model_types]
BRANCH_ROLES = (Role.ATTENTION_IN, Role.ATTENTION_OUT, Role.MLP_IN, Role.MLP_OUT)


def build(name: str, model_type: str, **config):
    config = family(name).example_config(model_type, vocab_size=256, init_method="idinit", **config)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("name, model_type", model_type_sweep(COVERED))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(name, model_type):
    model = build(name, model_type)
    report = idinit_hf.verify(model)
    assert report.ok, str(report)
    for role in BRANCH_ROLES:  # every block writes its branch roles
        assert len(report.by_role(role)) >= model.config.num_hidden_layers, role
    blocks = [m for m in model.modules() if family(name).is_block(m)]
    every_weight = {id(p) for block in blocks for p in block.parameters()}
    tagged = {id(p) for located in locate_slots(model, family(name))
              for _, p in slot_parameters(located.module, located.slot, with_bias=True)}
    assert every_weight <= tagged  # every weight inside a block has a role
    identity = idinit_hf.identity_report(model, inputs(name))
    assert len(identity.blocks) == len(blocks) == model.config.num_hidden_layers
    assert identity.max_identity_error() <= 1e-4 and identity.max_branch() <= 1e-4


# ---- coverage: every causal LM with exactly one of these layouts -----------------------------------------------------


@cache
def tiny_stock_causal_lm(model_type: str):
    """A tiny stock causal LM of ``model_type`` on the meta device, built from the example config of the first family
    of issue 20 whose example its config accepts (its own family's first), or None."""
    own = [f for f in DECODERS if model_type in family(f).model_types]
    for name in own + [f for f in DECODERS if f not in own]:
        try:
            config = family(name).example_config(model_type)
            with torch.device("meta"):
                return transformers.AutoModelForCausalLM.from_config(config)
        except Exception:  # configs that need other fields (MoE, hybrid, encoder-decoder, multimodal, ...)
            continue
    return None


def has_exactly_the_layout(name: str, model, model_type: str) -> bool:
    """The table of ``name`` locates every parameter of ``model`` (inside and outside its blocks), and each block
    holds the four branch roles."""
    fam = family(name)
    if model.config.model_type != model_type or idinit_hf.family_for(model.config) not in (None, fam):
        return False  # the text part of a multimodal config, or a type another table covers (OLMo: parameter-free
        # norms, so the Cohere table would locate all its parameters, though its block is sequential)
    blocks = [m for m in model.modules() if fam.is_block(m)]
    if not blocks:
        return False
    try:
        located = locate_slots(model, fam)
    except AttributeError:  # an attention module without the head counts this table reads: another layout
        return False
    placed = {id(p) for loc in located for _, p in slot_parameters(loc.module, loc.slot, with_bias=True)}
    if any(id(p) not in placed for p in model.parameters()):
        return False
    return all(any(loc.slot.role is role and any(loc.module is m for m in block.modules()) for loc in located)
               for block in blocks for role in BRANCH_ROLES)


@pytest.mark.slow
@pytest.mark.parametrize("name", DECODERS)
def test_every_model_type_of_the_layout_is_covered(name):
    found = {t for t in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
             if (model := tiny_stock_causal_lm(t)) is not None and has_exactly_the_layout(name, model, t)}
    assert found == set(family(name).model_types), (sorted(found - set(family(name).model_types)),
                                                     sorted(set(family(name).model_types) - found))


# Arcee (Llama with a plain ReLU² MLP) is refused too, which tests/test_adding_an_architecture.py checks: it is the
# model type docs/adding-an-architecture.md adds, so it cannot be listed here (the page's test runs `-k arcee`).
@pytest.mark.parametrize("model_type", ["gpt_neox_japanese", "glm", "mpt", "gpt_bigcode"])
def test_near_miss_layouts_are_refused(model_type):
    """Layouts close to one of these tables but not the same (a bias parameter of its own, a fused gate|up with
    separate Q/K/V, fused Q|K|V of other models, RMSNorm instead of LayerNorm): no table yet, a clear error."""
    config = transformers.AutoConfig.for_model(model_type, init_method="idinit")
    with pytest.raises(ValueError, match=rf"no role table for model_type='{model_type}'"):
        idinit_hf.AutoModelForCausalLM.from_config(config)
