# Copyright 2025 The HuggingFace Inc. team. Licensed under the Apache License, Version 2.0.
#
# hfharness copy: the model-test part of transformers' tests/models/ernie4_5/test_modeling_ernie4_5.py from
# huggingface/transformers @ a9cb74f503b85e1f942a04c7ccf7a414bf5981b8. Verbatim except: the integration-test class
# (@slow, hub checkpoint, accelerator) is omitted.
"""Testing suite for the PyTorch Ernie4.5 model."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    from transformers import (
        Ernie4_5Config,
        Ernie4_5ForCausalLM,
        Ernie4_5Model,
    )
    from transformers.models.ernie4_5.modeling_ernie4_5 import Ernie4_5RotaryEmbedding


class Ernie4_5ModelTester(CausalLMModelTester):
    if is_torch_available():
        config_class = Ernie4_5Config
        base_model_class = Ernie4_5Model
        causal_lm_class = Ernie4_5ForCausalLM


@require_torch
class Ernie4_5ModelTest(CausalLMModelTest, unittest.TestCase):
    all_model_classes = (
        (
            Ernie4_5Model,
            Ernie4_5ForCausalLM,
        )
        if is_torch_available()
        else ()
    )
    pipeline_model_mapping = (
        {
            "feature-extraction": Ernie4_5Model,
            "text-generation": Ernie4_5ForCausalLM,
        }
        if is_torch_available()
        else {}
    )
    test_headmasking = False
    test_pruning = False
    fx_compatible = False  # Broken by attention refactor cc @Cyrilvallez
    model_tester_class = Ernie4_5ModelTester
    rotary_embedding_layer = Ernie4_5RotaryEmbedding  # Enables RoPE tests if set

    # Need to use `0.8` instead of `0.9` for `test_cpu_offload`
    # This is because we are hitting edge cases with the causal_mask buffer
    model_split_percents = [0.5, 0.7, 0.8]

    # used in `test_torch_compile_for_training`
    _torch_compile_train_cls = Ernie4_5ForCausalLM if is_torch_available() else None
