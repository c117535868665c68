# hfharness: written for idinit_hf issue 20 (not an upstream file): the generic CausalLMModelTester suite of
# transformers 5.x for codegen, with only the tester attributes stock codegen needs at the tester's size (rotary_dim=4).
"""Testing suite for the PyTorch codegen model (generic CausalLMModelTest)."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    from transformers import CodeGenModel


class CodeGenModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = CodeGenModel

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.rotary_dim = 4


@require_torch
class CodeGenModelTest(CausalLMModelTest, unittest.TestCase):
    model_tester_class = CodeGenModelTester
