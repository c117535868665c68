"""Write the model-test part of CausalLMModelTester-style test modules (tests/models/<type>/test_modeling_<type>.py).

Each spec below is the tester + test class of the upstream file named in `source`, verbatim, with only the
imports made complete (several snapshot files name head classes in `pipeline_model_mapping` that they no longer
import). Integration-test classes (all @slow / hub / accelerator) are left out. Run: python tools/write_clm_tests.py
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "third_party" / "tests" / "models"

HEADER = '''# Copyright The HuggingFace Inc. team. Licensed under the Apache License, Version 2.0.
#
# hfharness copy: the model-test part of transformers' tests/models/{t}/test_modeling_{t}.py from {source}.
# Verbatim except: the integration-test classes (every test @slow, hub checkpoints, accelerators) are omitted and the
# imports cover every class the kept code names.{extra}
"""Testing suite for the PyTorch {t} model."""

import unittest

from transformers import is_torch_available
from transformers.testing_utils import is_flaky, require_torch, torch_device  # noqa: F401

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester


if is_torch_available():
    import torch  # noqa: F401

    from transformers import (
{imports}    )

'''

PIPE_SKIP = '''
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
'''

PERFORATED = "PerforatedAI/PerforatedAI-Transformers @ 746e0e9151c668ca6e19f9432b8b2a1e1c6cb4e8 (a 5.0-dev tree)"


def mapping(prefix, tasks):
    rows = "".join(f'            "{task}": {prefix}{head},\n' for task, head in tasks)
    return f"    pipeline_model_mapping = (\n        {{\n{rows}        }}\n        if is_torch_available()\n        else {{}}\n    )\n"


SPECS = {
    "helium": dict(source=PERFORATED, prefix="Helium", heads=["Model", "ForCausalLM", "ForSequenceClassification",
                                                              "ForTokenClassification"],
                   body=lambda p: mapping(p, [("feature-extraction", "Model"), ("text-classification", "ForSequenceClassification"),
                                              ("token-classification", "ForTokenClassification"), ("text-generation", "ForCausalLM"),
                                              ("zero-shot", "ForSequenceClassification")])
                   + "    _is_stateful = True\n    model_split_percents = [0.5, 0.6]\n\n    model_tester_class = HeliumModelTester\n"),
    "seed_oss": dict(source=PERFORATED, prefix="SeedOss", heads=["Model", "ForCausalLM", "ForSequenceClassification",
                                                                 "ForTokenClassification"],
                     body=lambda p: "    model_tester_class = SeedOssModelTester\n"
                     + mapping(p, [("feature-extraction", "Model"), ("text-classification", "ForSequenceClassification"),
                                   ("token-classification", "ForTokenClassification"), ("text-generation", "ForCausalLM"),
                                   ("zero-shot", "ForSequenceClassification")])
                     + "    _is_stateful = True\n    model_split_percents = [0.5, 0.6]\n"),
    "ministral": dict(source=PERFORATED, prefix="Ministral", heads=["Model", "ForCausalLM"],
                      extra="\n# Also left out: an override of the GPU-only flash-attention right-padding test (a skip).",
                      body=lambda p: "    model_tester_class = MinistralModelTester\n" + PIPE_SKIP),
    "stablelm": dict(source=PERFORATED, prefix="StableLm", heads=["Model", "ForCausalLM", "ForSequenceClassification",
                                                                  "ForTokenClassification"],
                     body=lambda p: mapping(p, [("feature-extraction", "Model"), ("text-classification", "ForSequenceClassification"),
                                                ("text-generation", "ForCausalLM"), ("zero-shot", "ForSequenceClassification"),
                                                ("token-classification", "ForTokenClassification")])
                     + "    fx_compatible = False  # Broken by attention refactor cc @Cyrilvallez\n"
                     "    model_tester_class = StableLmModelTester\n"),
    "gemma": dict(source=PERFORATED, prefix="Gemma", heads=["Model", "ForCausalLM", "ForSequenceClassification",
                                                            "ForTokenClassification"], tester_deco=True,
                  body=lambda p: mapping(p, [("feature-extraction", "Model"), ("text-classification", "ForSequenceClassification"),
                                             ("token-classification", "ForTokenClassification"), ("text-generation", "ForCausalLM"),
                                             ("zero-shot", "ForSequenceClassification")])
                  + "    model_tester_class = GemmaModelTester\n\n    # used in `test_torch_compile_for_training`\n"
                  "    _torch_compile_train_cls = GemmaForCausalLM if is_torch_available() else None\n" + PIPE_SKIP),
}


def load_balancing_test(lm_class, config_lines):
    """The MoE routing test the upstream files share (verbatim; only the class and the expert settings differ)."""
    lines = "".join(f"        {line}\n" for line in config_lines)
    return f'''
    @is_flaky(max_attempts=2)
    def test_load_balancing_loss(self):
        r"""
        Let's make sure we can actually compute the loss and do a backward on it.
        """
        config, input_dict = self.model_tester.prepare_config_and_inputs_for_common()
        config.num_labels = 3
{lines}        config.output_router_logits = True
        input_ids = input_dict["input_ids"]
        attention_mask = input_ids.ne(1).to(torch_device)
        model = {lm_class}(config)
        model.to(torch_device)
        model.eval()
        result = model(input_ids, attention_mask=attention_mask)
        self.assertEqual(result.router_logits[0].shape, (91, config.{config_lines[0].split("=")[0].split(".")[1].strip()}))
        torch.testing.assert_close(result.aux_loss.cpu(), torch.tensor(2, dtype=torch.float32), rtol=1e-2, atol=1e-2)

        # First, we make sure that adding padding tokens doesn't change the loss
        # loss(input_ids, attention_mask=None) == loss(input_ids + padding, attention_mask=attention_mask_with_padding)
        pad_length = input_ids.shape[1] * 4
        # Add padding tokens (assume that pad_token_id=1) to input_ids
        padding_block = torch.ones(input_ids.shape[0], pad_length, dtype=torch.int32).to(torch_device)
        padded_input_ids = torch.cat((padding_block, input_ids), dim=1)  # this is to simulate padding to the left
        padded_attention_mask = padded_input_ids.ne(1).to(torch_device)

        padded_result = model(padded_input_ids, attention_mask=padded_attention_mask)
        torch.testing.assert_close(result.aux_loss.cpu(), padded_result.aux_loss.cpu(), rtol=1e-4, atol=1e-4)

        # We make sure that the loss of including padding tokens != the loss without padding tokens
        # if attention_mask=None --> we don't exclude padding tokens
        include_padding_result = model(padded_input_ids, attention_mask=None)

        # This is to mimic torch.testing.assert_not_close
        self.assertNotAlmostEqual(include_padding_result.aux_loss.item(), result.aux_loss.item())
'''


MOE_TASKS = [("feature-extraction", "Model"), ("text-classification", "ForSequenceClassification"),
             ("token-classification", "ForTokenClassification"), ("text-generation", "ForCausalLM"),
             ("question-answering", "ForQuestionAnswering")]
FA_RIGHT_PAD = "\n# Also left out: an override of the GPU-only flash-attention right-padding test (a skip)."

SPECS.update({
    "mixtral": dict(source=PERFORATED, prefix="Mixtral", extra=FA_RIGHT_PAD,
                    heads=["Model", "ForCausalLM", "ForSequenceClassification", "ForTokenClassification",
                           "ForQuestionAnswering"],
                    body=lambda p: mapping(p, MOE_TASKS) + "\n    model_tester_class = MixtralModelTester\n" + PIPE_SKIP
                    + load_balancing_test("MixtralForCausalLM", ["config.num_local_experts = 3"])),
    "qwen2_moe": dict(source=PERFORATED, prefix="Qwen2Moe", extra=FA_RIGHT_PAD,
                      heads=["Model", "ForCausalLM", "ForSequenceClassification", "ForTokenClassification",
                             "ForQuestionAnswering"],
                      body=lambda p: mapping(p, MOE_TASKS) + "\n    test_all_params_have_gradient = False\n"
                      "    model_tester_class = Qwen2MoeModelTester\n" + PIPE_SKIP
                      + load_balancing_test("Qwen2MoeForCausalLM", ["config.num_experts = 3", "config.expert_interval = 2"])),
    "qwen3_moe": dict(source=PERFORATED, prefix="Qwen3Moe",
                      extra="\n# The upstream mapping names Qwen3ForQuestionAnswering (sic) for question-answering; kept.",
                      heads=["Model", "ForCausalLM", "ForSequenceClassification", "ForTokenClassification"],
                      body=lambda p: mapping(p, MOE_TASKS[:4]).replace("        }\n", '            "question-answering": Qwen3ForQuestionAnswering,\n        }\n')
                      + "\n    test_all_params_have_gradient = False\n    model_tester_class = Qwen3MoeModelTester\n" + PIPE_SKIP
                      + load_balancing_test("Qwen3MoeForCausalLM", ["config.num_experts = 3", "config.expert_interval = 2"])),
})

SPECS.update({
    "gemma2": dict(source=PERFORATED, prefix="Gemma2", heads=["Model", "ForCausalLM", "ForSequenceClassification",
                                                              "ForTokenClassification"],
                   body=lambda p: mapping(p, [("feature-extraction", "Model"), ("text-classification", "ForSequenceClassification"),
                                              ("token-classification", "ForTokenClassification"), ("text-generation", "ForCausalLM"),
                                              ("zero-shot", "ForSequenceClassification")])
                   + "\n    _is_stateful = True\n    model_split_percents = [0.5, 0.6]\n    model_tester_class = Gemma2ModelTester\n"),
    "olmo3": dict(source=PERFORATED, prefix="Olmo3", heads=["Model", "ForCausalLM"],
                  extra="\n# Also left out: Olmo3's own overrides of test_model_rope_scaling_from_config and"
                        "\n# test_model_rope_scaling_frequencies (RoPE math; the CausalLMModelTest versions run instead).",
                  body=lambda p: mapping(p, [("feature-extraction", "Model"), ("text-generation", "ForCausalLM")])
                  + "    fx_compatible = False\n    test_torchscript = False\n    test_all_params_have_gradient = False\n"
                  "    model_tester_class = Olmo3ModelTester\n\n"
                  "    # Need to use `0.8` instead of `0.9` for `test_cpu_offload`\n"
                  "    # This is because we are hitting edge cases with the causal_mask buffer\n"
                  "    model_split_percents = [0.5, 0.7, 0.8]\n\n"
                  "    # used in `test_torch_compile_for_training`\n"
                  "    _torch_compile_train_cls = Olmo3ForCausalLM if is_torch_available() else None\n"),
    "phi3": dict(source=PERFORATED, prefix="Phi3", heads=["Model", "ForCausalLM", "ForSequenceClassification",
                                                          "ForTokenClassification"],
                 body=lambda p: mapping(p, [("feature-extraction", "Model"), ("text-classification", "ForSequenceClassification"),
                                            ("token-classification", "ForTokenClassification"), ("text-generation", "ForCausalLM")])
                 + "\n    model_tester_class = Phi3ModelTester\n"),
})

SPECS["starcoder2"] = dict(source=PERFORATED, prefix="Starcoder2", heads=["Model", "ForCausalLM"],
                           body=lambda p: "    model_tester_class = Starcoder2ModelTester\n")


def write(model_type, spec):
    p = spec["prefix"]
    imports = "".join(f"        {p}{h},\n" for h in sorted(spec["heads"]))
    if model_type == "qwen3_moe":
        imports = "        Qwen3ForQuestionAnswering,\n" + imports
    extra = spec.get("extra", "")
    text = HEADER.format(t=model_type, source=spec["source"], extra=extra, imports=imports)
    deco = "@require_torch\n" if spec.get("tester_deco") else ""
    text += f"\n{deco}class {p}ModelTester(CausalLMModelTester):\n    if is_torch_available():\n        base_model_class = {p}Model\n"
    text += spec.get("tester_extra", "")
    text += f"\n\n@require_torch\nclass {p}ModelTest(CausalLMModelTest, unittest.TestCase):\n" + spec["body"](p)
    folder = ROOT / model_type
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").touch()
    (folder / f"test_modeling_{model_type}.py").write_text(text)
    print("wrote", folder / f"test_modeling_{model_type}.py")


if __name__ == "__main__":
    for t, s in SPECS.items():
        write(t, s)
