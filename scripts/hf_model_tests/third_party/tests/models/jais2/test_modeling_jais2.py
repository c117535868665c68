# hfharness: written for idinit_hf issue 20 (not an upstream file): the generic CausalLMModelTester suite of
# transformers 5.x for jais2, with only the tester attributes stock jais2 needs at the tester's size (none).
"""Testing suite for the PyTorch jais2 model (generic CausalLMModelTest)."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    from transformers import Jais2Model


class Jais2ModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = Jais2Model

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        pass


@require_torch
class Jais2ModelTest(CausalLMModelTest, unittest.TestCase):
    model_tester_class = Jais2ModelTester
