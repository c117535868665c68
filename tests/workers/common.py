"""What the multi-process workers and the tests that launch them share.

The workers run as scripts (``python -m torch.distributed.run ... tests/workers/x.py``), so this module puts
``tests/`` on ``sys.path`` to reach the tiny configs and real data of ``helpers.py``: the
worker and the single-process reference in the test then build *exactly* the same models.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import torch  # noqa: E402
from helpers import REPRESENTATIVES, text_windows, tiny, tiny_config  # noqa: E402

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


def free_port() -> int:
    """A TCP port nobody listens on now (other engineers run tests on this machine at the same time)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def progress(message: str) -> None:
    """One line on stderr, flushed at once: when a launch times out, its partial output shows how far it got."""
    rank = os.environ.get("RANK", "?")
    print(f"[rank {rank}] {message}", file=sys.stderr, flush=True)


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
            stalls.append(f"--- timed out after {stall.timeout} s; output so far:\n{_text(stall.output)[-3000:]}\n"
                          f"{_text(stall.stderr)[-6000:]}")
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
    with subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=LAUNCH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stdout, stderr = _stop(process)
            raise subprocess.TimeoutExpired(command, LAUNCH_TIMEOUT_S, output=stdout, stderr=stderr) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _stop(torchrun: subprocess.Popen) -> tuple[str, str]:
    """Stop a torchrun launch and every worker it started; return the output they wrote.

    torchrun starts each worker in a session of its own, so killing torchrun (or its process group) would leave
    them running, holding the output pipes and spending the cores the rest of the suite needs. SIGTERM makes
    torchrun stop them itself (SIGTERM, then SIGKILL after its 30 s grace); the workers are killed here too in
    case torchrun itself is stuck.
    """
    workers = _descendants(torchrun.pid)
    torchrun.terminate()
    try:
        return torchrun.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        for pid in [torchrun.pid, *workers]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return torchrun.communicate()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; elsewhere none, and :func:`_stop` relies on torchrun)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else (output or "")


def once(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """The directory ``name``, filled by ``make(directory)`` once per test session, also under pytest-xdist.

    A module-scoped fixture runs in every xdist worker that runs one of the module's tests: each launch would run
    twice, on the same 2 cores. The workers share the session's temporary directory and take turns on a file
    lock: the first fills the directory, the others wait (leaving it the cores) and read it.
    """
    from filelock import FileLock  # a dependency of huggingface_hub, so of transformers

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's directory, shared by the workers
    path = root / f"once-{name}"
    with FileLock(f"{path}.lock"):
        if not (path / ".done").exists():  # a failed launch is retried, and fails, in the next worker too
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            make(path)
            (path / ".done").touch()
    return path


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
