"""Build IDInit models under DeepSpeed ZeRO-3 (CPU accelerator, gloo) and save every gathered parameter.

Launched by ``tests/test_sharded.py`` with 2 processes and ``DS_ACCELERATOR=cpu``. Each rank writes
``<out>/zero3_rank<r>.pt``: {build name: {parameter name: full tensor}}. Under ZeRO-3 every parameter is a
``(0,)`` placeholder partitioned over the ranks, and transformers initializes each module on rank 0 inside a
``GatheredParameters`` context: the test checks that what comes out, gathered, equals a plain CPU build.

Usage: zero3_worker.py OUT_DIR CHECKPOINT_DIR (a saved plain BertForMaskedLM, loaded as a sequence classifier).
"""

from __future__ import annotations

import sys

import deepspeed
import torch
import torch.distributed as dist
from common import COLLECTIVE_TIMEOUT, FAMILIES, leave_process_group, load_classifier, progress, seeded_build
from transformers.integrations import HfDeepSpeedConfig

import idinit_hf

# The smallest config that turns ZeRO-3 on; no optimizer or engine is built, only zero.Init partitioning.
DS_CONFIG = {
    "train_micro_batch_size_per_gpu": 1,
    "gradient_accumulation_steps": 1,
    "zero_optimization": {"stage": 3},
}


def gathered(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter gathered to its full shape, on every rank (modifier_rank=None: read only), and under
    the key ``"verify_ok"`` what ``idinit_hf.verify`` says of the gathered model."""
    params = list(model.parameters())
    with deepspeed.zero.GatheredParameters(params, modifier_rank=None):
        state = {name: p.detach().clone() for name, p in model.named_parameters()}
        state["verify_ok"] = idinit_hf.verify(model).ok
    return state


def skip_shm_comm_op() -> None:
    """Do not JIT-compile DeepSpeed's shared-memory all-reduce op (C++, ~40 s and a compiler on first use).

    The CPU accelerator builds it in ``init_distributed`` only to speed up inference all-reduce; ZeRO-3
    partitioning and gathering go through torch.distributed (gloo) and never call it.
    """
    import deepspeed.comm.torch  # noqa: F401 (the module; the name ``deepspeed.comm.torch`` is shadowed by torch)

    sys.modules["deepspeed.comm.torch"].build_shm_op = lambda: None


def main(out_dir: str, checkpoint: str) -> None:
    skip_shm_comm_op()
    dist.init_process_group("gloo", timeout=COLLECTIVE_TIMEOUT)
    deepspeed.init_distributed(dist_backend="gloo")
    # HfDeepSpeedConfig must stay alive (transformers keeps only a weak reference) while models are built.
    ds_config = HfDeepSpeedConfig(DS_CONFIG)
    assert ds_config.is_zero3()
    results = {}
    for family in FAMILIES:
        progress(f"{family}: build under zero.Init, gather")
        model = seeded_build(family)
        placeholder = next(model.parameters())
        assert placeholder.numel() == 0 and hasattr(placeholder, "ds_id"), "ZeRO-3 did not partition the model"
        results[family] = gathered(model)
    progress("bert: from_pretrained, gather")
    results["bert_from_pretrained"] = gathered(load_classifier(checkpoint))
    torch.save(results, f"{out_dir}/zero3_rank{dist.get_rank()}.pt")
    progress("done; leaving the process group")
    leave_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:3])
