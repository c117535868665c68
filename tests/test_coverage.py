"""Every causal LM of the pinned transformers is covered by a family or refused with a reason (families/coverage.py)."""

import pytest
import transformers
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

import idinit_hf
from idinit_hf.families import UnsupportedArchitectureError, idinit_family
from idinit_hf.families.coverage import REFUSED, refusal_reason

CAUSAL_LMS = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
REFUSED_TYPES = [model_type for types in REFUSED.values() for model_type in types]


def test_every_causal_lm_is_covered_or_refused():
    covered = CAUSAL_LMS & set(idinit_hf.supported_model_types())
    assert sorted(CAUSAL_LMS - covered - set(REFUSED_TYPES)) == [], "neither covered nor refused"


def test_a_refused_model_type_is_a_causal_lm_listed_once():
    assert len(REFUSED_TYPES) == len(set(REFUSED_TYPES))
    assert sorted(set(REFUSED_TYPES) - CAUSAL_LMS) == []  # stale entries after a transformers upgrade


def test_most_causal_lms_with_attention_and_mlp_blocks_are_covered():
    """A floor, not a target: the count a user can rely on (78 of 196 in transformers 5.24)."""
    assert len(CAUSAL_LMS & set(idinit_hf.supported_model_types())) >= 78


@pytest.mark.parametrize("model_type", ["mamba", "jamba", "dbrx", "ctrl"])
def test_the_error_for_a_refused_model_type_gives_its_reason(model_type):
    config = transformers.AutoConfig.for_model(model_type, init_method="idinit")
    with pytest.raises(UnsupportedArchitectureError, match=f"{model_type!r} is refused: ") as error:
        idinit_family(config)
    assert refusal_reason(model_type) in str(error.value)


def test_an_unlisted_model_type_has_no_reason():
    assert refusal_reason("llama") is None and refusal_reason(None) is None
