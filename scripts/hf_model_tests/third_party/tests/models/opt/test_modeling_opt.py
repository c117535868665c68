# hfharness: written for idinit_hf issue 20 (not an upstream file): the generic CausalLMModelTester suite of
# transformers 5.x for opt, with only the tester attributes stock opt needs at the tester's size (ffn_dim=37).
"""Testing suite for the PyTorch opt model (generic CausalLMModelTest)."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    from transformers import OPTModel


class OPTModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = OPTModel

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.ffn_dim = 37


@require_torch
class OPTModelTest(CausalLMModelTest, unittest.TestCase):
    model_tester_class = OPTModelTester
