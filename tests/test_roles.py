"""Roles, rules and slots (idinit_hf/roles.py): the role → rule table of the method, and how a slot finds its owner."""

import pytest
from torch import nn

from idinit_hf.options import IDInitOptions
from idinit_hf.roles import (
    FIXED_RULES,
    OPTION_RULES,
    QUERY,
    ClassName,
    Role,
    Rule,
    Slot,
    by_class_name,
    rule_for,
    writes_whole,
)


def test_every_role_has_a_fixed_rule_or_an_option():
    assert FIXED_RULES.keys() | OPTION_RULES.keys() == set(Role)
    assert not FIXED_RULES.keys() & OPTION_RULES.keys()


@pytest.mark.parametrize("role, rule", [(Role.ATTENTION_IN, Rule.IDI), (Role.ATTENTION_OUT, Rule.IDIZ),
                                        (Role.MLP_IN, Rule.IDI), (Role.MLP_OUT, Rule.IDIZ), (Role.NORM, Rule.DEFAULT)])


def test_the_method_fixes_the_residual_branch_rules(role, rule):
    """§1, §3, §5: identity inside a branch, zero-preserving at its end, norms left to the library."""
    assert rule_for(Slot(nn.Linear, "", role), IDInitOptions(), tied_embeddings=False) is rule


@pytest.mark.parametrize("role", list(OPTION_RULES))
def test_open_roles_follow_their_option(role):
    option = OPTION_RULES[role]
    for value in ("default", "idi"):
        if value == "idi" and role is Role.PATCH_EMBEDDING:
            value = "idic"
        options = IDInitOptions(**{option: value})
        assert rule_for(Slot(nn.Linear, "", role), options, tied_embeddings=False) is Rule(value)


def test_a_tied_slot_is_left_to_the_embedding_only_when_the_config_ties():
    head = Slot(nn.Linear, "", Role.HEAD, tied=True)
    options = IDInitOptions(heads="idi")
    assert rule_for(head, options, tied_embeddings=True) is Rule.TIED
    assert rule_for(head, options, tied_embeddings=False) is Rule.IDI


def test_the_token_table_has_its_own_option_that_can_follow_the_embeddings_one():
    """idinit_token_table="embeddings" gives the token table the rule of idinit_embeddings; "small" gives it
    SmallInit and leaves the other tables (positions, token types) to idinit_embeddings."""
    table = Slot(nn.Embedding, "", Role.EMBEDDING, token_table=True)
    positions = Slot(nn.Embedding, "", Role.EMBEDDING)
    follow = IDInitOptions(embeddings="idi", token_table="embeddings")
    small = IDInitOptions(embeddings="idi", token_table="small")
    assert rule_for(table, follow, tied_embeddings=True) is Rule.IDI
    assert rule_for(table, small, tied_embeddings=True) is Rule.SMALL
    assert rule_for(positions, small, tied_embeddings=True) is Rule.IDI
    assert rule_for(Slot(nn.Linear, "", Role.HEAD), IDInitOptions(heads="small"), tied_embeddings=False) is Rule.SMALL
    tied_head = Slot(nn.Linear, "", Role.HEAD, tied=True)
    assert rule_for(tied_head, small, tied_embeddings=True) is Rule.TIED  # the head is the table


class MistralMLP(nn.Module):
    pass


def test_an_owner_is_a_type_or_a_class_name_suffix():
    """Per-model generated classes (MistralMLP does not subclass LlamaMLP) are matched by their name's suffix."""
    assert Slot("MLP", "up_proj", Role.MLP_IN).owned_by(MistralMLP())
    assert not Slot("Attention", "q_proj", Role.ATTENTION_IN, heads=QUERY).owned_by(MistralMLP())
    assert Slot(nn.Module, "", Role.NORM).owned_by(MistralMLP()) and not Slot(nn.Linear, "", Role.NORM).owned_by(MistralMLP())


@pytest.mark.parametrize("value, rule", [("idi", Rule.IDI), ("default", Rule.DEFAULT)])
def test_a_slot_with_an_option_is_left_to_the_library_when_that_option_says_default(value, rule):
    """Qwen2-MoE's shared expert: a gated MLP under IDInit unless ``idinit_shared_experts="default"``."""
    up = Slot("DecoderLayer", "mlp.shared_expert.up_proj", Role.MLP_IN, option="shared_experts")
    assert rule_for(up, IDInitOptions(shared_experts=value), tied_embeddings=False) is rule


@pytest.mark.parametrize("gate, whole", [("idi", True), ("default", False)])
def test_a_fused_gate_up_is_written_whole_only_when_its_gate_is_idinits(gate, whole):
    options = IDInitOptions(gate=gate)
    assert writes_whole(Slot("Experts", "", Role.MLP_IN, gate_up="halves"), options) is whole
    assert writes_whole(Slot("MLP", "up_proj", Role.MLP_IN), options)


@pytest.mark.parametrize("role", [Role.ATTENTION_OUT, Role.MLP_OUT])
@pytest.mark.parametrize("value", ["default", "idi", "idiz"])
def test_a_linear_layer_followed_by_a_norm_takes_the_normed_out_option(role, value):
    """OLMo 2 / Gemma 2: IDIZε before a norm would be undone, so the rule of such a slot is an option's."""
    options = IDInitOptions(normed_out=value)
    assert rule_for(Slot("Attention", "o_proj", role, normed=True), options, tied_embeddings=False) is Rule(value)
    assert rule_for(Slot("Attention", "o_proj", role), options, tied_embeddings=False) is Rule.IDIZ


@pytest.mark.parametrize("role", [Role.ATTENTION_OUT_NORM, Role.MLP_OUT_NORM])
def test_a_norm_that_ends_a_branch_takes_the_branch_norm_option(role):
    slot = Slot("DecoderLayer", "post_attention_layernorm", role)
    assert rule_for(slot, IDInitOptions(), tied_embeddings=False) is Rule.IDIZ  # the zero-preserving gain
    assert rule_for(slot, IDInitOptions(branch_norm="default"), tied_embeddings=False) is Rule.DEFAULT


class RobertaOutput(nn.Module):
    pass


class RobertaSelfOutput(nn.Module):
    pass


def test_a_class_name_owner_excludes_the_longer_names_it_is_told_of():
    """``Output`` is the suffix of both BERT-layout output modules; the MLP's owner excludes the attention's."""
    mlp_out = Slot(ClassName("Output", not_after=("Self",)), "dense", Role.MLP_OUT)
    assert mlp_out.owned_by(RobertaOutput()) and not mlp_out.owned_by(RobertaSelfOutput())
    assert Slot(ClassName("SelfOutput"), "dense", Role.ATTENTION_OUT).owned_by(RobertaSelfOutput())
    assert not Slot(ClassName("SelfOutput"), "dense", Role.ATTENTION_OUT).owned_by(RobertaOutput())


def test_renaming_a_table_by_class_name_keeps_every_field_and_excludes_longer_suffixes():
    table = (Slot(RobertaSelfOutput, "dense", Role.ATTENTION_OUT), Slot(RobertaOutput, "dense", Role.MLP_OUT, tied=True),
             Slot("MLP", "up_proj", Role.MLP_IN))
    renamed = by_class_name(table, prefix="Roberta")
    assert renamed == (Slot(ClassName("SelfOutput"), "dense", Role.ATTENTION_OUT),
                       Slot(ClassName("Output", not_after=("Self",)), "dense", Role.MLP_OUT, tied=True),
                       Slot("MLP", "up_proj", Role.MLP_IN))
