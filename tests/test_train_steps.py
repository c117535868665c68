"""The tiny model of every layout (``helpers.REPRESENTATIVES``) takes 20 AdamW steps from IDInit on real data, and the
loss goes down.

Margin: the mean of the last 5 losses is below 0.95 x the mean of the first 5, on torch seeds 0-4 for every
family (checked with ``python tests/test_train_steps.py``, which prints the ratio per seed).
"""

import sys

import pytest
import torch
from helpers import REPRESENTATIVES, is_image, tiny, training_batches

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

STEPS = 20
MARGIN = 0.95


def train(name: str, seed: int) -> list[float]:
    torch.manual_seed(seed)
    model = tiny(name, init_method="idinit")
    batches = training_batches(name, batch=32 if is_image(name) else 8)
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


def ratio(losses: list[float]) -> float:
    return (sum(losses[-5:]) / 5) / (sum(losses[:5]) / 5)


@pytest.mark.parametrize("name", REPRESENTATIVES)  # training: one family per layout
def test_idinit_model_learns(name):
    losses = train(name, seed=0)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert ratio(losses) < MARGIN, losses


if __name__ == "__main__":  # the margin check over seeds
    torch.set_num_threads(1)
    for name in REPRESENTATIVES:
        print(name, [round(ratio(train(name, seed)), 3) for seed in range(int(sys.argv[1]) if sys.argv[1:] else 5)])
