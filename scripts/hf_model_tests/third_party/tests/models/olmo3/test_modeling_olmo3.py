# Copyright The HuggingFace Inc. team. Licensed under the Apache License, Version 2.0.
#
# hfharness copy: the model-test part of transformers' tests/models/olmo3/test_modeling_olmo3.py from PerforatedAI/PerforatedAI-Transformers @ 746e0e9151c668ca6e19f9432b8b2a1e1c6cb4e8 (a 5.0-dev tree).
# Verbatim except: the integration-test classes (every test @slow, hub checkpoints, accelerators) are omitted and the
# imports cover every class the kept code names.
# Also left out: Olmo3's own overrides of test_model_rope_scaling_from_config and
# test_model_rope_scaling_frequencies (RoPE math; the CausalLMModelTest versions run instead).
"""Testing suite for the PyTorch olmo3 model."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import is_flaky, require_torch, torch_device  # noqa: F401

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    import torch  # noqa: F401

    from transformers import (
        Olmo3ForCausalLM,
        Olmo3Model,
    )


class Olmo3ModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = Olmo3Model


@require_torch
class Olmo3ModelTest(CausalLMModelTest, unittest.TestCase):
    pipeline_model_mapping = (
        {
            "feature-extraction": Olmo3Model,
            "text-generation": Olmo3ForCausalLM,
        }
        if is_torch_available()
        else {}
    )
    fx_compatible = False
    test_torchscript = False
    test_all_params_have_gradient = False
    model_tester_class = Olmo3ModelTester

    # Need to use `0.8` instead of `0.9` for `test_cpu_offload`
    # This is because we are hitting edge cases with the causal_mask buffer
    model_split_percents = [0.5, 0.7, 0.8]

    # used in `test_torch_compile_for_training`
    _torch_compile_train_cls = Olmo3ForCausalLM if is_torch_available() else None
