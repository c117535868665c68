"""BERT's pre-LN variants: BERT's projections with the norms moved before each branch (where each model puts them),
so every block is the identity at init rather than x → LN(x)."""

import pytest
import torch
from helpers import HIDDEN, D, attention_out_pattern, eye, mlp_out_pattern, model_type_sweep

import idinit_hf
from idinit_hf.families.bert_prenorm import BERT_PRENORM
from idinit_hf.patterns import locate_slots
from idinit_hf.roles import Role

#: Per model type, the norms inside a block (relative to it) and after the last one.
NORMS = {
    "megatron-bert": ({"attention.ln", "ln"}, "bert.encoder.ln"),
    "roberta-prelayernorm": ({"attention.LayerNorm", "intermediate.LayerNorm"}, "roberta_prelayernorm.LayerNorm"),
    "xlm-roberta-xl": ({"attention.self_attn_layer_norm", "LayerNorm"}, "roberta.encoder.LayerNorm"),
    "esm": ({"attention.LayerNorm", "LayerNorm"}, "esm.encoder.emb_layer_norm_after"),
}


def build(model_type):
    return idinit_hf.AutoModelForMaskedLM.from_config(BERT_PRENORM.example_config(model_type, init_method="idinit"))


@pytest.mark.parametrize("model_type", model_type_sweep(BERT_PRENORM.model_types))
def test_the_norms_are_found_where_the_model_puts_them(model_type):
    model = build(model_type)
    inside, final = NORMS[model_type]
    norms = {loc.path for loc in locate_slots(model, BERT_PRENORM) if loc.slot.role is Role.NORM}
    layer = next(m for m in model.modules() if BERT_PRENORM.is_block(m))
    prefix = next(name for name, m in model.named_modules() if m is layer) + "."
    assert {path.removeprefix(prefix) for path in norms if path.startswith(prefix)} == inside
    assert final in norms


def test_megatron_blocks_hold_berts_patterns():
    for layer in build("megatron-bert").bert.encoder.layer:
        assert torch.equal(layer.attention.self.query.weight.detach(), eye(D))
        assert torch.equal(layer.attention.output.dense.weight.detach(), attention_out_pattern(D))
        assert torch.equal(layer.output.dense.weight.detach(), mlp_out_pattern(D, HIDDEN))
