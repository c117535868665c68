# hfharness: written for idinit_hf issue 20 (not an upstream file): the generic CausalLMModelTester suite of
# transformers 5.x for gpt_neo, with only the tester attributes stock gpt_neo needs at the tester's size (attention_types=[[['global', 'local'], 1]]).
"""Testing suite for the PyTorch gpt_neo model (generic CausalLMModelTest)."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    from transformers import GPTNeoModel


class GPTNeoModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = GPTNeoModel

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.attention_types = [[['global', 'local'], 1]]


@require_torch
class GPTNeoModelTest(CausalLMModelTest, unittest.TestCase):
    model_tester_class = GPTNeoModelTester
