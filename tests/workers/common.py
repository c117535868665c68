"""What the multi-process workers and the tests that launch them share.

The workers run as scripts (``python -m torch.distributed.run ... tests/workers/x.py``), so this module puts
``tests/`` on ``sys.path`` to reach the tiny configs and real data of ``helpers.py``: the
worker and the single-process reference in the test then build *exactly* the same models.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from helpers import REPRESENTATIVES, text_windows, tiny, tiny_config  # noqa: E402
from processes import free_port, run_process_tree  # noqa: E402

import idinit_hf  # noqa: E402
from idinit_hf import Rule  # noqa: E402

#: The loosening seed every build uses, so that role weights do not depend on torch's global seed.
IDINIT_SEED = 1234
#: torch's global seed before every build: the default-init (random) weights then match too, where the
#: library draws them in the same order.
TORCH_SEED = 0
#: Timeout of one torchrun attempt: far above the 10–25 s a launch takes here, low enough that a stalled attempt
#: and its retry fit in CI's time.
LAUNCH_TIMEOUT_S = 150
#: What a worker's collectives wait before they fail with an error naming the operation (gloo's default is 30 min).
COLLECTIVE_TIMEOUT = datetime.timedelta(seconds=100)


def build(family: str, **overrides) -> torch.nn.Module:
    """A tiny IDInit model of ``family`` (a name of the registry) with its pretraining head, built with from_config."""
    return tiny(family, **{"init_method": "idinit", "idinit_seed": IDINIT_SEED, **overrides})


#: The families every multi-process test builds: one per layout (``helpers.REPRESENTATIVES``); a launch costs
#: seconds per family, and what sharding or DDP can break depends on the layout (tied and aliased tables, nested
#: no-split modules, buffers, stacked experts), not on the family.
FAMILIES = REPRESENTATIVES


def seeded_build(family: str, **overrides) -> torch.nn.Module:
    """:func:`build` after ``torch.manual_seed(TORCH_SEED)``: the same weights in every process."""
    torch.manual_seed(TORCH_SEED)
    return build(family, **overrides)


def role_parameter_names(model: torch.nn.Module) -> set[str]:
    """Names of the parameters IDInit writes: those ``idinit_hf.verify`` checks against a rule it rebuilds.

    Tied weights (rule ``tied``) are left out: they are the embedding's, which the library initializes.
    """
    written = [layer for layer in idinit_hf.verify(model).layers if layer.rule not in (Rule.DEFAULT, Rule.TIED)]
    return {layer.name for layer in written if layer.matches is not None}


def full_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter of ``model`` (tied ones once), detached, on the CPU."""
    return {name: p.detach().to("cpu").clone() for name, p in model.named_parameters()}


def sha256(tensor: torch.Tensor) -> str:
    """The hash of a tensor's bytes, dtype and shape: equal hashes mean bit-identical tensors."""
    tensor = tensor.detach().to("cpu").contiguous()
    digest = hashlib.sha256(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    # Flattened first: a 0-dim tensor (BatchNorm's num_batches_tracked) has no last dimension to view as bytes.
    digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def progress(message: str) -> None:
    """One line on stderr, flushed at once: when a launch times out, its partial output shows how far it got."""
    rank = os.environ.get("RANK", "?")
    print(f"[rank {rank}] {message}", file=sys.stderr, flush=True)


def leave_process_group() -> None:
    """Wait for every rank, destroy the process group, and exit at once with status 0.

    The results are written before this is called. ``os._exit`` skips the interpreter's finalization, where gloo's
    worker threads can still hold tensors whose release needs the GIL: now and then a rank aborted there
    ("terminate called without an active exception", SIGABRT) after its work had finished (pytorch/pytorch#179291).
    """
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def launch(worker: str, *args: str, nproc: int = 2, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``tests/workers/<worker>`` in ``nproc`` processes with torchrun (gloo on CPU); fail with its output.

    A launch that times out is killed with every process it started and tried once more on a new port: on a shared
    machine a stall can be the machine's, not the code's (a port taken between :func:`free_port` and the
    rendezvous, a starved process). A hang of the code hangs twice and fails with both attempts' output.
    """
    stalls = []
    for _ in range(2):
        try:
            result = _launch_once(worker, args, nproc, env)
        except subprocess.TimeoutExpired as stall:
            stalls.append(f"--- timed out after {stall.timeout} s; output so far:\n{(stall.output or '')[-3000:]}\n"
                          f"{(stall.stderr or '')[-6000:]}")
            continue
        if result.returncode != 0:
            raise AssertionError(f"{worker} failed (rc={result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
        if stalls:
            warnings.warn(f"{worker} timed out once, then passed:\n{stalls[0]}", stacklevel=2)
        return result
    raise AssertionError(f"{worker} timed out twice:\n" + "\n".join(stalls))


def _launch_once(worker: str, args: tuple[str, ...], nproc: int, env: dict[str, str] | None) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "OMP_NUM_THREADS": "1",  # 2 processes on 2 shared cores: no oversubscription
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "DS_ACCELERATOR": "cpu",  # accelerate imports deepspeed where installed: no accelerator probing
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
        "--master_addr", "127.0.0.1", "--master_port", environment["MASTER_PORT"],
        str(Path(__file__).with_name(worker)), *args,
    ]
    return run_process_tree(command, timeout=LAUNCH_TIMEOUT_S, env=environment)


def save_mlm_checkpoint(path: Path) -> Path:
    """Save a plain (stock, default-init) tiny BertForMaskedLM: it has no pooler and no classifier, so loading
    it as a sequence classifier leaves exactly those as missing keys for IDInit."""
    import transformers

    torch.manual_seed(5)
    transformers.BertForMaskedLM(tiny_config("bert", pad_token_id=0)).save_pretrained(path)
    return path


def load_classifier(checkpoint: str | Path) -> torch.nn.Module:
    """The saved MLM loaded as a 3-way IDInit sequence classifier (pooler and classifier missing)."""
    torch.manual_seed(TORCH_SEED)
    return idinit_hf.AutoModelForSequenceClassification.from_pretrained(
        checkpoint, init_method="idinit", idinit_seed=IDINIT_SEED, num_labels=3
    )


def differing(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor], names=None) -> list[str]:
    """Names (of ``names``, default all of ``want``) whose tensors are not bit-identical, or missing in ``got``."""
    names = sorted(want if names is None else names)
    return [n for n in names if n not in got or got[n].dtype != want[n].dtype or not torch.equal(got[n], want[n])]


# --- DDP equivalence: one training loop, run by 2 DDP processes (tests/workers/ddp_worker.py) and by 1 plain one ---

#: Per-process batch of the 2-process run; the 1-process run takes 2 * TRAIN_BATCH rows per step.
TRAIN_BATCH = 4
TRAIN_LENGTH = 32
TRAIN_STEPS = 20


def train_model() -> torch.nn.Module:
    """The tiny GPT-2 both runs train: IDInit, fixed seeds, dropout off (its noise would differ per process)."""
    torch.manual_seed(TORCH_SEED)
    config = tiny_config("gpt2", init_method="idinit", idinit_seed=IDINIT_SEED, resid_pdrop=0.0, embd_pdrop=0.0,
                         attn_pdrop=0.0)
    return idinit_hf.AutoModelForCausalLM.from_config(config)


def train_losses(model, optimizer, rows: slice, backward, mean_over_processes) -> list[float]:
    """``TRAIN_STEPS`` AdamW steps on CPython's reference text; each process takes ``rows`` of the global batch.

    ``backward`` is ``loss.backward`` (plain) or ``accelerator.backward`` (DDP averages the gradients);
    ``mean_over_processes`` turns this process's loss into the global batch's. Every process sees the same
    number of tokens, so the mean of the per-process means is the mean over the global batch.
    """

    model.train()
    losses = []
    for step in range(TRAIN_STEPS):
        ids = text_windows(2 * TRAIN_BATCH, TRAIN_LENGTH, offset=step * 2 * TRAIN_BATCH * TRAIN_LENGTH)[rows]
        loss = model(input_ids=ids, labels=ids).loss
        backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(mean_over_processes(loss.detach())))
    return losses


def optimizer_for(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
