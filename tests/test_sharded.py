"""Deferred and sharded init: IDInit under DeepSpeed ZeRO-3 and under FSDP2, two CPU processes (gloo).

Each launch runs a worker script (``tests/workers/``) in 2 processes with torchrun, which saves the gathered
full weights; the tests compare them here, bit for bit, with a plain single-process CPU build of the same
config and seeds (``workers.common``). What each test proves is in its docstring.
"""

import math

import pytest
import torch
from processes import once
from workers.common import (
    FAMILIES,
    differing,
    launch,
    load_classifier,
    role_parameter_names,
    save_mlm_checkpoint,
    seeded_build,
)

from idinit_hf.families import family_for

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

#: Parameters the BertForMaskedLM checkpoint lacks when loaded as a sequence classifier.
MISSING = ["bert.pooler.dense.bias", "bert.pooler.dense.weight", "classifier.bias", "classifier.weight"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return once(tmp_path_factory, "mlm", save_mlm_checkpoint)


# --- DeepSpeed ZeRO-3 ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zero3(tmp_path_factory, checkpoint):
    """Run the ZeRO-3 worker once; return each rank's gathered weights."""
    pytest.importorskip("deepspeed")
    out = once(tmp_path_factory, "zero3", lambda out: launch("zero3_worker.py", str(out), str(checkpoint)))
    return [torch.load(out / f"zero3_rank{rank}.pt") for rank in range(2)]


@pytest.mark.parametrize("family", FAMILIES)
def test_zero3_from_config_role_weights_match_plain_build(zero3, family):
    """Under ZeRO-3 (zero.Init partitioning, rank-0 init inside GatheredParameters) every IDInit role weight
    gathered on either rank is bit-identical to a plain CPU build: the rules reach partitioned modules. And
    ``idinit_hf.verify`` passes on the gathered model."""
    reference = seeded_build(family)
    roles = role_parameter_names(reference)
    spec = family_for(reference.config)  # at least one weight per branch role of every block (biases besides)
    assert len(roles) >= spec.depth_of(reference.config) * len(spec.branch_roles)
    want = dict(reference.named_parameters())
    for rank, gathered in enumerate(zero3):
        assert differing(gathered[family], want, roles) == [], f"rank {rank}"
        assert gathered[family]["verify_ok"] is True


@pytest.mark.parametrize("family", FAMILIES)
def test_zero3_from_config_other_weights(zero3, family):
    """The weights IDInit leaves to the library: same names, shapes and dtypes as the plain build; the
    deterministic ones (norms 1/0, zero biases) bit-identical; all finite; both ranks hold the same tensors.

    The random ones (embeddings, heads) differ from the plain build: ZeRO-3 initializes in one rank-0 pass,
    the plain build first in the nested model's own post_init, so torch's generator is drawn in another order.
    """
    reference = dict(seeded_build(family).named_parameters())
    gathered = {n: t for n, t in zero3[0][family].items() if n != "verify_ok"}
    assert {n: (t.shape, t.dtype) for n, t in gathered.items()} == {n: (t.shape, t.dtype) for n, t in reference.items()}
    constant = [n for n, t in reference.items() if t.numel() and bool((t == t.flatten()[0]).all())]
    assert constant and differing(gathered, reference, constant) == []
    assert all(bool(t.isfinite().all()) for t in gathered.values())
    assert differing(zero3[1][family], gathered) == []


def test_zero3_from_pretrained_missing_keys(zero3, checkpoint):
    """from_pretrained under ZeRO-3 with missing keys: loaded weights stay the checkpoint's, the missing pooler
    gets IDInit and the missing classifier the library's init, all bit-identical to the plain load."""
    reference = load_classifier(checkpoint)
    assert {"bert.pooler.dense.weight", "bert.pooler.dense.bias"} <= role_parameter_names(reference)
    want = dict(reference.named_parameters())
    for rank, gathered in enumerate(zero3):
        assert differing(gathered["bert_from_pretrained"], want) == [], f"rank {rank}"
        assert gathered["bert_from_pretrained"]["verify_ok"] is True


# --- FSDP2 ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fsdp(tmp_path_factory, checkpoint):
    """Run the FSDP2 worker once; return what rank 0 gathered."""
    out = once(tmp_path_factory, "fsdp", lambda out: launch("fsdp_worker.py", str(out), str(checkpoint)))
    return torch.load(out / "fsdp.pt")


@pytest.mark.parametrize("family", FAMILIES)
def test_fsdp_shard_then_gather_equals_plain_build(fsdp, family):
    """Built with IDInit on every rank, sharded with fully_shard (really split: rank 0 holds about half of the
    elements), the full state dict gathered on rank 0 equals the plain build bit for bit."""
    reference = seeded_build(family).state_dict()
    shards = fsdp[f"{family}_local_shapes"]
    assert sum(math.prod(shape) for shape in shards.values()) < 0.6 * sum(reference[n].numel() for n in shards)
    assert set(fsdp[family]) == set(reference)
    assert differing(fsdp[family], reference) == []


@pytest.mark.parametrize("family", FAMILIES)
def test_fsdp_ram_efficient_build_equals_plain_build(fsdp, family):
    """cpu_ram_efficient_loading-style: IDInit on rank 0 only, rank 1 on meta, weights broadcast into the
    shards: the gathered weights equal the plain build (rank 1 did no init of its own)."""
    reference = seeded_build(family).state_dict()
    assert set(fsdp[f"{family}_ram_efficient"]) == set(reference)
    assert differing(fsdp[f"{family}_ram_efficient"], reference) == []


def test_fsdp_ram_efficient_from_pretrained_missing_keys(fsdp, checkpoint):
    """transformers' own FSDP RAM-efficient loading (env flags of accelerate): rank 1 keeps exactly the missing
    keys on meta and IDInit does not touch them; after the broadcast from rank 0 every weight equals the plain
    load (checkpoint weights, IDInit pooler, library classifier)."""
    assert fsdp["bert_from_pretrained_meta_per_rank"] == [[], MISSING]
    reference = load_classifier(checkpoint).state_dict()
    assert set(fsdp["bert_from_pretrained"]) == set(reference)
    assert differing(fsdp["bert_from_pretrained"], reference) == []
