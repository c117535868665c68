# Copyright The HuggingFace Inc. team. Licensed under the Apache License, Version 2.0.
#
# hfharness copy: the model-test part of transformers' tests/models/vaultgemma/test_modeling_vaultgemma.py from PerforatedAI/PerforatedAI-Transformers @ 746e0e9151c668ca6e19f9432b8b2a1e1c6cb4e8 (a 5.0-dev tree).
# Verbatim except: the integration-test class (every test @slow, hub checkpoints, accelerators) is omitted and the
# imports cover every class the kept code names (added by the issue-20 post-norm helper).
"""Testing suite for the PyTorch VaultGemma model."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    from transformers import (
        VaultGemmaForCausalLM,
        VaultGemmaModel,
    )


class VaultGemmaModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = VaultGemmaModel


@require_torch
class VaultGemmaModelTest(CausalLMModelTest, unittest.TestCase):
    pipeline_model_mapping = (
        {
            "feature-extraction": VaultGemmaModel,
            "text-generation": VaultGemmaForCausalLM,
        }
        if is_torch_available()
        else {}
    )

    _is_stateful = True
    model_split_percents = [0.5, 0.6]
    model_tester_class = VaultGemmaModelTester
