"""The pretraining objectives (idinit_hf/objectives.py): a batch of real data for each, and what it scores."""

import pytest
import torch

from idinit_hf.objectives import CAUSAL_LM, IMAGE_CLASSIFICATION, MASKED_LM, OBJECTIVES, objective_of

WINDOWS = torch.arange(2 * 40).view(2, 40) % 200


def test_a_causal_lm_predicts_its_own_inputs_shifted():
    batch = CAUSAL_LM.batch(WINDOWS, shape=CAUSAL_LM.text_shape(256, 40))
    assert torch.equal(batch["input_ids"], WINDOWS) and torch.equal(batch["labels"], WINDOWS)
    logits = torch.nn.functional.one_hot(WINDOWS.roll(-1, dims=1), 256).float()  # predicts the next token exactly
    predicted, targets = CAUSAL_LM.predictions(logits, batch["labels"])
    assert torch.equal(predicted, targets) and targets.shape == (2, 39)
    assert torch.equal(CAUSAL_LM.targets(batch), WINDOWS[:, 1:].reshape(-1))


def test_a_masked_lm_hides_a_seeded_15_percent_behind_its_own_mask_id():
    shape = MASKED_LM.text_shape(256, 40)
    assert (shape.vocab_size, shape.mask_id, shape.pad_id) == (258, 256, 257)  # ids no text holds
    batch = MASKED_LM.batch(WINDOWS.repeat(50, 1), shape=shape, generator=torch.Generator().manual_seed(0))
    masked = batch["labels"] != -100
    assert 0.12 < float(masked.float().mean()) < 0.18
    assert torch.equal(batch["input_ids"][masked], torch.full((int(masked.sum()),), 256))
    assert torch.equal(batch["labels"][masked], WINDOWS.repeat(50, 1)[masked])
    again = MASKED_LM.batch(WINDOWS.repeat(50, 1), shape=shape, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again["input_ids"], batch["input_ids"])
    assert torch.equal(MASKED_LM.targets(batch), WINDOWS.repeat(50, 1)[masked])


def test_an_image_classifier_scores_every_image():
    pixels, labels = torch.zeros(3, 1, 8, 8), torch.tensor([1, 2, 3])
    batch = IMAGE_CLASSIFICATION.batch((pixels, labels), shape=None)
    assert batch["pixel_values"] is pixels and torch.equal(IMAGE_CLASSIFICATION.targets(batch), labels)


def test_objectives_are_found_by_their_head():
    assert all(objective_of(head) is objective for head, objective in OBJECTIVES.items())
    with pytest.raises(ValueError, match="no pretraining objective for the head 'AutoModelForCTC'"):
        objective_of("AutoModelForCTC")
