"""Tiny GPT-2, BERT and ViT take 20 AdamW steps from IDInit on real data, and the loss goes down."""

import pytest
import torch
from conftest import bert_config, gpt2_config, vit_config
from realdata import digits, text_batch

import idinit_hf

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

STEPS = 20


def train(model, batches) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    model.train()
    losses = []
    for step in range(STEPS):
        loss = model(**batches(step)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def assert_learns(losses):
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) / 5 < 0.95 * sum(losses[:5]) / 5, losses


def test_gpt2_causal_lm_learns():
    model = idinit_hf.AutoModelForCausalLM.from_config(gpt2_config(vocab_size=256, init_method="idinit"))

    def batches(step):
        ids = text_batch(8, 32, offset=step * 256)
        return {"input_ids": ids, "labels": ids}

    assert_learns(train(model, batches))


def test_bert_masked_lm_learns():
    model = idinit_hf.AutoModelForMaskedLM.from_config(bert_config(vocab_size=256, pad_token_id=0, init_method="idinit"))
    generator = torch.Generator().manual_seed(0)

    def batches(step):
        ids = text_batch(8, 32, offset=step * 256)
        masked = torch.rand(ids.shape, generator=generator) < 0.15
        labels = torch.where(masked, ids, torch.full_like(ids, -100))
        return {"input_ids": torch.where(masked, torch.full_like(ids, 1), ids), "labels": labels}

    assert_learns(train(model, batches))


def test_vit_image_classification_learns():
    model = idinit_hf.AutoModelForImageClassification.from_config(vit_config(init_method="idinit"))
    images, labels = digits(64)

    def batches(step):  # two batches of 32 real digits, in turn
        part = slice(step % 2 * 32, step % 2 * 32 + 32)
        return {"pixel_values": images[part], "labels": labels[part]}

    assert_learns(train(model, batches))
