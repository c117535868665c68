"""Model FLOPs per token, the peak table and the MFU (idinit_hf/training/throughput.py): pure functions, quick."""

from __future__ import annotations

import pytest
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    ViTConfig,
    ViTForImageClassification,
)

from idinit_hf.training.throughput import (
    device_peak_tflops,
    flops_per_token,
    format_mfu,
    matmul_parameters,
    mfu,
    peak_for_name,
    speed_summary,
)


@pytest.mark.parametrize("name, tflops", [
    ("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0), ("NVIDIA H200", 989.0),
    ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA A10G", 125.0), ("NVIDIA L4", 121.0), ("NVIDIA L40S", 362.0),
    ("NVIDIA GeForce RTX 4090", 165.0), ("Tesla V100-SXM2-32GB", 125.0), ("Some Future Card", None)])
def test_peak_table_matches_device_names(name, tflops):
    assert peak_for_name(name) == tflops


def test_cpu_has_no_peak_and_an_unknown_mfu():
    assert device_peak_tflops("cpu") is None
    assert mfu(1e6, 1e4, None) == "unknown" and format_mfu("unknown") == "unknown"
    assert mfu(1e6, 1e4, 10.0) == pytest.approx(1e10 / 1e13) and format_mfu(0.3123) == "31.2%"


def test_gpt2_counts_the_tied_head_once_and_no_position_table():
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=64, vocab_size=100))
    total = sum(p.numel() for p in model.parameters())  # the tied wte / lm_head counted once
    assert matmul_parameters(model) == total - model.transformer.wpe.weight.numel()
    assert flops_per_token(model, 64) == 6 * matmul_parameters(model) + 12 * 2 * 32 * 64


def test_llama_counts_the_untied_head_but_not_the_input_embedding():
    model = LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=4,
                                         num_key_value_heads=2, intermediate_size=64, vocab_size=100,
                                         tie_word_embeddings=False))
    total = sum(p.numel() for p in model.parameters())
    assert matmul_parameters(model) == total - model.model.embed_tokens.weight.numel()
    assert flops_per_token(model, 16) == 6 * matmul_parameters(model) + 12 * 2 * 32 * 16


def test_vit_leaves_out_the_position_embedding_and_cls_token():
    model = ViTForImageClassification(ViTConfig(image_size=8, patch_size=2, num_channels=1, num_hidden_layers=2,
                                                hidden_size=32, num_attention_heads=2, intermediate_size=64))
    embeddings = model.vit.embeddings
    total = sum(p.numel() for p in model.parameters())
    assert matmul_parameters(model) == total - embeddings.position_embeddings.numel() - embeddings.cls_token.numel()


def test_speed_summary_per_process_and_total():
    summary = speed_summary("tokens", 2000.0, 2, 1e9, 100.0)
    assert summary["tokens_per_second"] == 2000.0 and summary["tokens_per_second_per_process"] == 1000.0
    assert summary["mfu"] == pytest.approx(1e9 * 1000 / 1e14) and summary["peak_tflops"] == 100.0
    assert speed_summary("images", 10.0, 1, 1e6, None)["mfu"] == "unknown"
