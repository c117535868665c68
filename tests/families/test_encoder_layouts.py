"""The encoder tables of issue 21 (BERT's siblings, BERT's pre-LN variants, ModernBERT, DeBERTa-v2), every model type
they cover: IDInit weights exactly as the rules say, every weight inside a block with a role, every block the identity
(pre-norm) or ``x → LN(x)`` (post-LN) at init, the saved model bit-identical in stock transformers, the default init
the stock one and a meta-device build the constructor's; and, per layout, every masked LM of the installed
transformers with exactly that layout is covered or refused for a stated reason."""

from __future__ import annotations

from functools import cache

import pytest
import torch
import transformers
from helpers import assert_same_tensors, family, inputs, model_type_sweep, snapshot, stock_class, tiny_config
from transformers.models.auto import modeling_auto

import idinit_hf
from idinit_hf.patterns import locate_slots, slot_parameters
from idinit_hf.roles import Role

ENCODERS = ("roberta", "bert_prenorm", "modernbert", "deberta_v2")
COVERED = [(name, model_type) for name in ENCODERS for model_type in family(name).model_types]
BRANCH_ROLES = (Role.ATTENTION_IN, Role.ATTENTION_OUT, Role.MLP_IN, Role.MLP_OUT)
#: Masked LMs with exactly one of these layouts that no table covers: the layout, and why.
REFUSED = {
    "yoso": ("roberta", "its LSH attention takes acos(q̂·k̂): NaN where IDInit makes q = k (q̂·k̂ rounds above 1)"),
    "ibert": ("roberta", "its quantized layers make buffers from their weights at construction (zeros_like(weight)): "
                         "a build with deferred parameters leaves them on the meta device"),
}


def config_of(name: str, model_type: str, **overrides):
    """The family's tiny config of ``model_type``, fitted to the embedded text (byte ids)."""
    return tiny_config(name, model_type=model_type, **overrides)


def build(name: str, model_type: str, **overrides):
    return idinit_hf.AutoModelForMaskedLM.from_config(config_of(name, model_type, init_method="idinit", **overrides))


@pytest.mark.parametrize("name, model_type", model_type_sweep(COVERED))
def test_each_covered_model_type_is_exact_and_an_identity_at_init(name, model_type):
    model = build(name, model_type)
    report = idinit_hf.verify(model)
    assert report.ok, str(report)
    blocks = [m for m in model.modules() if family(name).is_block(m)]
    assert len(blocks) == model.config.num_hidden_layers
    for role in BRANCH_ROLES:  # every block writes its branch roles
        assert len(report.by_role(role)) >= len(blocks), role
    every_weight = {id(p) for block in blocks for p in block.parameters()}
    tagged = {id(p) for located in locate_slots(model, family(name))
              for _, p in slot_parameters(located.module, located.slot, with_bias=True)}
    assert every_weight <= tagged  # every weight inside a block has a role
    identity = idinit_hf.identity_report(model, inputs(name))
    assert len(identity.blocks) == len(blocks) and identity.max_branch() <= 1e-4
    # pre-norm: x + f(x) with f ≈ 0; post-LN: LN(x + f(x)) ≈ LN(x), and x (the layer-normed embeddings) ≈ LN(x)
    assert identity.max_identity_error() <= (1e-4 if family(name).norm_position == "pre" else 1e-3)


@pytest.mark.parametrize("name, model_type", model_type_sweep(COVERED))
def test_each_covered_model_type_reloads_in_stock_keeps_the_stock_default_and_builds_the_same_on_meta(
        name, model_type, tmp_path):
    cls = getattr(idinit_hf, f"IDInit{modeling_auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES[model_type]}")
    config, stock_config = config_of(name, model_type, init_method="idinit"), config_of(name, model_type)
    model = seeded(cls, config)
    model.save_pretrained(tmp_path)
    assert_same_tensors(snapshot(transformers.AutoModelForMaskedLM.from_pretrained(tmp_path)), snapshot(model))
    # a meta build, then every weight initialized as missing, is the constructor's model, except where the stock
    # model's own init is not (data2vec-text's _init_weights leaves the LM head's bias as allocated)
    stock_differs = differences(seeded(stock_class(cls).from_pretrained, None, config=stock_config, state_dict={}),
                                seeded(stock_class(cls), stock_config))
    assert differences(seeded(cls.from_pretrained, None, config=config, state_dict={}), model) <= stock_differs
    assert_same_tensors(snapshot(seeded(cls, stock_config)), snapshot(seeded(stock_class(cls), stock_config)))


def seeded(build, *args, **kwargs):
    torch.manual_seed(0)
    return build(*args, **kwargs)


def differences(model, other) -> set[str]:
    """The state-dict entries of two models of one config that are not bit-identical."""
    mine, theirs = snapshot(model), snapshot(other)
    assert sorted(mine) == sorted(theirs)
    return {key for key in mine if not torch.equal(mine[key], theirs[key])}


@pytest.mark.parametrize("model_type", sorted(REFUSED))
def test_refused_layouts_have_no_table(model_type):
    config = config_of(REFUSED[model_type][0], model_type, init_method="idinit")
    with pytest.raises(ValueError, match=rf"no role table for model_type='{model_type}'"):
        idinit_hf.AutoModelForMaskedLM.from_config(config)


# ---- coverage: every masked LM with exactly one of these layouts -----------------------------------------------------


@cache
def tiny_stock_masked_lm(model_type: str):
    """A tiny stock masked LM of ``model_type`` on the meta device, from the example config of the first encoder family
    whose example its config accepts (its own family's first), or None."""
    own = [name for name in ENCODERS if model_type in family(name).model_types]
    for name in own + [name for name in ENCODERS if name not in own]:
        try:
            with torch.device("meta"):
                return transformers.AutoModelForMaskedLM.from_config(config_of(name, model_type))
        except Exception:  # configs that need other fields (Funnel's blocks, Reformer's axial positions, ...)
            continue
    return None


def post_ln(model, located) -> bool:
    """Whether the module that holds each branch's last layer also holds a norm (BERT's ``SelfOutput`` / ``Output``:
    ``LN(x + dense(·))``), as post-LN blocks have and pre-LN ones do not."""
    owners = {}
    for loc in located:
        owners.setdefault(loc.path.removesuffix(loc.slot.path).rstrip("."), set()).add(loc.slot.role)
    ends = [roles for roles in owners.values() if roles & {Role.ATTENTION_OUT, Role.MLP_OUT}]
    return bool(ends) and all(Role.NORM in roles for roles in ends)


def has_exactly_the_layout(name: str, model, model_type: str) -> bool:
    """The table of ``name`` locates every trainable parameter of ``model`` (inside and outside its blocks), each block
    holds the four branch roles, and its branches end before a norm (post-LN) or not (pre-norm), as the table says."""
    fam = family(name)
    if model.config.model_type != model_type or idinit_hf.family_for(model.config) not in (None, fam):
        return False  # a type another table covers (BERT itself; the siblings' tables locate BERT's parameters)
    blocks = [m for m in model.modules() if fam.is_block(m)]
    if not blocks:
        return False
    located = locate_slots(model, fam)
    placed = {id(p) for loc in located for _, p in slot_parameters(loc.module, loc.slot, with_bias=True)}
    if any(id(p) not in placed for p in model.parameters() if p.requires_grad):
        return False  # (RoFormer's sinusoidal position table is a frozen parameter: the library's, no role)
    if post_ln(model, located) != (fam.norm_position == "post"):
        return False
    return all(any(loc.slot.role is role and any(loc.module is m for m in block.modules()) for loc in located)
               for block in blocks for role in BRANCH_ROLES)


@pytest.mark.slow
@pytest.mark.parametrize("name", ENCODERS)
def test_every_model_type_of_the_layout_is_covered_or_refused(name):
    found = {t for t in modeling_auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES
             if (model := tiny_stock_masked_lm(t)) is not None and has_exactly_the_layout(name, model, t)}
    expected = set(family(name).model_types) | {t for t, (layout, _) in REFUSED.items() if layout == name}
    assert found == expected, (sorted(found - expected), sorted(expected - found))
