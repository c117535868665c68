"""Every rank agrees: two CPU processes (torchrun + ``Accelerator(cpu=True)``, gloo DDP) build identical IDInit
weights, and DDP training with per-process batch b follows the 1-process run with batch 2b.

One launch of ``tests/workers/ddp_worker.py`` serves all the tests of this file; the single-process references
are computed here with the same code (``workers.common``).
"""

import json

import pytest
import torch
from accelerate.utils import set_seed
from processes import once
from workers.common import (
    FAMILIES,
    TORCH_SEED,
    TRAIN_BATCH,
    build,
    launch,
    optimizer_for,
    sha256,
    train_losses,
    train_model,
)

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

#: float32 DDP sums the two halves' gradients in another order than one process: rounding-level differences
#: (measured: losses 2e-7 relative, weights 3e-5 absolute after 20 steps, where Adam's g/sqrt(v) magnifies
#: near-zero gradients), nowhere near a real divergence (a wrong batch split or a missing gradient average
#: moves the loss by > 1e-2 within a few steps). WEIGHT_ATOL is a tenth of one step's size (lr = 3e-3).
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 3e-4


@pytest.fixture(scope="module")
def ddp(tmp_path_factory):
    out = once(tmp_path_factory, "ddp", lambda out: launch("ddp_worker.py", str(out)))
    with open(out / "ddp.json") as handle:
        result = json.load(handle)
    result["final"] = torch.load(out / "ddp_final.pt")
    return result


@pytest.mark.parametrize("family", FAMILIES)
def test_every_rank_builds_identical_tensors(ddp, family):
    """After accelerate's set_seed, both ranks hold bit-identical tensors (sha256 of every parameter and buffer),
    and the same as one process here: IDInit's loosening noise, which follows torch's seed when
    ``idinit_seed`` is unset, and the library's random init agree across processes."""
    rank0, rank1 = (hashes[family] for hashes in ddp["hashes"])
    assert len(rank0) > 10 and rank0 == rank1
    set_seed(TORCH_SEED)
    here = {name: sha256(t) for name, t in build(family, idinit_seed=None).state_dict().items()}
    assert rank0 == here


def single_process_run() -> tuple[list[float], dict[str, torch.Tensor]]:
    """The same loop, one process, the whole batch of 2 * TRAIN_BATCH rows each step."""
    model = train_model()
    losses = train_losses(model, optimizer_for(model), slice(0, 2 * TRAIN_BATCH), lambda loss: loss.backward(), float)
    return losses, model.state_dict()


def test_ddp_two_processes_match_one_process_with_double_batch(ddp):
    """20 AdamW steps of a tiny IDInit GPT-2 on real text: 2 DDP processes x batch b give the same losses and
    final weights as 1 process x batch 2b, within float32 rounding; and the loss really went down."""
    losses, weights = single_process_run()
    assert torch.allclose(torch.tensor(ddp["losses"]), torch.tensor(losses), rtol=LOSS_RTOL, atol=0), (ddp["losses"], losses)
    assert losses[-1] < 0.9 * losses[0]
    assert ddp["final"].keys() == weights.keys()
    worst = max(float((ddp["final"][n] - weights[n]).abs().max()) for n in weights)
    assert worst < WEIGHT_ATOL, worst
