# hfharness copy: the model-test part of transformers' tests/models/qwen3/test_modeling_qwen3.py from
# PerforatedAI/PerforatedAI-Transformers @ 746e0e9151c668ca6e19f9432b8b2a1e1c6cb4e8 (a transformers 5.0-dev tree).
# Verbatim except: the integration-test class (every test @slow, hub checkpoints, accelerators) is omitted.
# Copyright The HuggingFace Inc. team, Apache License 2.0.
"""Testing suite for the PyTorch Qwen3 model."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch


if is_torch_available():
    from transformers import (
        Qwen3ForCausalLM,
        Qwen3Model,
    )


from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


class Qwen3ModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = Qwen3Model


@require_torch
class Qwen3ModelTest(CausalLMModelTest, unittest.TestCase):
    model_tester_class = Qwen3ModelTester

    # TODO (ydshieh): Check this. See https://app.circleci.com/pipelines/github/huggingface/transformers/79245/workflows/9490ef58-79c2-410d-8f51-e3495156cf9c/jobs/1012146
    def is_pipeline_test_to_skip(
        self,
        pipeline_test_case_name,
        config_class,
        model_architecture,
        tokenizer_name,
        image_processor_name,
        feature_extractor_name,
        processor_name,
    ):
        return True
