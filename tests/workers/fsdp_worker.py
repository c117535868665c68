"""Shard IDInit models with FSDP2 (``fully_shard``) on CPU processes (gloo) and save the gathered full weights.

Launched by ``tests/test_sharded.py`` with 2 processes. Rank 0 writes ``<out>/fsdp.pt``:

* ``"<family>"``: built with IDInit on every rank, then sharded; full state dict gathered on rank 0;
* ``"<family>_ram_efficient"``: built with IDInit on rank 0 only, on the meta device on rank 1 (what accelerate's
  ``cpu_ram_efficient_loading`` does), sharded, then rank 0's weights broadcast into the shards;
* ``"bert_from_pretrained"``: ``from_pretrained`` of a saved BertForMaskedLM as a sequence classifier with
  transformers' own FSDP RAM-efficient loading switched on (``ACCELERATE_USE_FSDP``,
  ``FSDP_CPU_RAM_EFFICIENT_LOADING``): rank 1 keeps every weight on meta, rank 0 loads and IDInit-s the missing
  ones, the broadcast fills rank 1 (``"bert_from_pretrained_meta_per_rank"``: the parameters each rank held on
  meta before the broadcast).

Also ``"<name>_local_shapes"``: rank 0's local shard shapes, which prove the weights really were split.

Usage: fsdp_worker.py OUT_DIR CHECKPOINT_DIR
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist
from accelerate.utils.other import get_module_children_bottom_up
from common import COLLECTIVE_TIMEOUT, FAMILIES, leave_process_group, load_classifier, progress, seeded_build
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    set_model_state_dict,
)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, fully_shard

#: Gather everything to rank 0, on the CPU; other ranks get an empty dict.
GATHER = StateDictOptions(full_state_dict=True, cpu_offload=True)
#: Rank 0's full state dict is broadcast into every rank's shards; other ranks pass an empty dict.
BROADCAST = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)


def shard(model: torch.nn.Module, mesh) -> torch.nn.Module:
    """FSDP2 as accelerate applies it (``fsdp2_prepare_model``): every ``_no_split_modules`` block, bottom up
    (children first: mBART's attention sits inside its layer, ConvNeXt's layer inside its stage, and
    ``fully_shard`` of a parent first would leave the child's parameters DTensors already), then the root."""
    blocks = set(model._no_split_modules or ())
    for module in get_module_children_bottom_up(model)[:-1]:
        if type(module).__name__ in blocks and not isinstance(module, FSDPModule):
            fully_shard(module, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def local_shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Shape of this rank's shard of every parameter (a DTensor after fully_shard)."""
    return {name: tuple(p.to_local().shape) for name, p in model.named_parameters()}


def ram_efficient(build, mesh) -> torch.nn.Module:
    """Build on rank 0, on meta elsewhere; shard; broadcast rank 0's weights (accelerate's FSDP2 recipe)."""
    rank = dist.get_rank()
    if rank == 0:
        model = build()
        full = model.state_dict()
        model = model.to("meta")  # as accelerate does: the real weights live on in ``full`` only
    else:
        with torch.device("meta"):
            model = build()
        full = {}
    assert all(p.is_meta for p in model.parameters())
    shard(model, mesh)
    model.to_empty(device="cpu")
    set_model_state_dict(model, full, options=BROADCAST)
    return model


def main(out_dir: str, checkpoint: str) -> None:
    dist.init_process_group("gloo", timeout=COLLECTIVE_TIMEOUT)
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    rank = dist.get_rank()
    results: dict[str, object] = {}
    for family in FAMILIES:
        progress(f"{family}: build, shard, gather")
        model = shard(seeded_build(family), mesh)
        results[f"{family}_local_shapes"] = local_shapes(model)
        results[family] = get_model_state_dict(model, options=GATHER)
        progress(f"{family}: RAM-efficient build, broadcast, gather")
        model = ram_efficient(lambda family=family: seeded_build(family), mesh)
        results[f"{family}_ram_efficient"] = get_model_state_dict(model, options=GATHER)

    progress("bert: from_pretrained with RAM-efficient loading")
    os.environ["ACCELERATE_USE_FSDP"] = "true"
    os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] = "true"
    model = load_classifier(checkpoint)
    on_meta = sorted(name for name, p in model.named_parameters() if p.is_meta)
    per_rank: list[list[str]] = [[] for _ in range(dist.get_world_size())]
    dist.all_gather_object(per_rank, on_meta)  # rank 1 must hold exactly the missing keys on meta, rank 0 none
    results["bert_from_pretrained_meta_per_rank"] = per_rank
    full = model.state_dict() if rank == 0 else {}
    model = model.to("meta")
    shard(model, mesh)
    model.to_empty(device="cpu")
    set_model_state_dict(model, full, options=BROADCAST)
    results["bert_from_pretrained"] = get_model_state_dict(model, options=GATHER)
    if rank == 0:
        torch.save(results, f"{out_dir}/fsdp.pt")
    progress("done; leaving the process group")
    leave_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:3])
