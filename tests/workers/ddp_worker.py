"""Two CPU processes with accelerate (gloo DDP): every rank builds the same IDInit weights, and DDP training
with per-process batch b follows the 1-process batch-2b run.

Launched by ``tests/test_distributed.py`` with torchrun and ``Accelerator(cpu=True)`` (hf-integration.md §6).
Rank 0 writes ``<out>/ddp.json``:

* ``"hashes"``: per rank, {family: {tensor name: sha256}} of IDInit builds after ``accelerate.utils.set_seed``
  (no ``idinit_seed``: the loosening noise then follows torch's seed, as in a user's script);
* ``"losses"``: the global-batch loss of each of the 20 AdamW steps;

and ``<out>/ddp_final.pt``: the trained weights (to compare with a tolerance, not a hash).

Usage: ddp_worker.py OUT_DIR
"""

from __future__ import annotations

import json
import sys

import torch
from accelerate import Accelerator
from accelerate.utils import InitProcessGroupKwargs, set_seed
from common import (
    COLLECTIVE_TIMEOUT,
    FAMILIES,
    TORCH_SEED,
    TRAIN_BATCH,
    build,
    leave_process_group,
    optimizer_for,
    progress,
    sha256,
    train_losses,
    train_model,
)


def build_hashes() -> dict[str, dict[str, str]]:
    """sha256 of every tensor (parameters and buffers) of the three families, each built after set_seed."""
    hashes = {}
    for family in FAMILIES:
        set_seed(TORCH_SEED)
        model = build(family, idinit_seed=None)
        hashes[family] = {name: sha256(t) for name, t in model.state_dict().items()}
    return hashes


def train(accelerator: Accelerator) -> tuple[list[float], dict[str, torch.Tensor]]:
    """The shared loop under DDP: this rank takes its TRAIN_BATCH rows of each global batch."""
    model = train_model()
    optimizer = optimizer_for(model)
    model, optimizer = accelerator.prepare(model, optimizer)
    rank = accelerator.process_index
    rows = slice(rank * TRAIN_BATCH, (rank + 1) * TRAIN_BATCH)
    losses = train_losses(model, optimizer, rows, accelerator.backward, lambda loss: accelerator.gather(loss[None]).mean())
    final = {n: t.detach().clone() for n, t in accelerator.unwrap_model(model).state_dict().items()}
    return losses, final


def main(out_dir: str) -> None:
    accelerator = Accelerator(cpu=True, kwargs_handlers=[InitProcessGroupKwargs(timeout=COLLECTIVE_TIMEOUT)])
    progress("hash every family's build")
    assert accelerator.num_processes == 2, "accelerate did not start a 2-process group"
    hashes = accelerator.gather_for_metrics([build_hashes()], use_gather_object=True)
    progress("train")
    losses, final = train(accelerator)
    if accelerator.is_main_process:
        with open(f"{out_dir}/ddp.json", "w") as handle:
            json.dump({"hashes": hashes, "losses": losses}, handle)
        torch.save(final, f"{out_dir}/ddp_final.pt")
    accelerator.wait_for_everyone()  # without it some 2-process runs abort at exit (hf-integration.md §6)
    accelerator.end_training()
    leave_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
