# Copyright 2025 the HuggingFace Team. Licensed under the Apache License, Version 2.0.
#
# hfharness copy: the model-test part of transformers' tests/models/ministral3/test_modeling_ministral3.py from
# huggingface/transformers @ 2f42d43770bede1b241663031d341ea5d07fb468. Verbatim except: the integration-test class
# (@slow, hub checkpoints) and the override of the GPU-only flash-attention right-padding test (a skip) are omitted.
"""Testing suite for the PyTorch Ministral3 model."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import require_torch


if is_torch_available():
    from transformers import (
        Ministral3Model,
    )


from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


class Ministral3ModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = Ministral3Model


@require_torch
class Ministral3ModelTest(CausalLMModelTest, unittest.TestCase):
    _is_stateful = True
    model_split_percents = [0.5, 0.6]
    model_tester_class = Ministral3ModelTester

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
