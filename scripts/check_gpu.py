"""The checks of idinit_hf that need a GPU; run by ``scripts/check_gpu.sh`` (see docs/reliability.md).

Each check prints one line as it finishes and a summary table at the end; the exit status is 1 if any check
failed or the run was stopped (on SIGTERM, e.g. check_gpu.sh's timeout, the table of the finished checks is still
printed). ``--checks`` runs some of them. ``--cpu`` runs every check on the CPU instead (a dry run that proves the script executes; the
multi-device part then uses 2 CPU processes with gloo). Needs only torch, transformers and this package (with its
scikit-learn, for the digits). No network. Families, configs and data come from the registry (``idinit_hf.testing``).

Checks:

1. ``build``: IDInit built directly on the device (``with torch.device(...)``), through meta + ``to_empty`` +
   ``init_weights()``, and by ``from_pretrained(device_map=...)`` with missing keys: role weights bit-identical
   to the CPU build, ``idinit_hf.verify`` passes.
2. ``patterns``: bf16 / fp16 weights built directly on the device hold the exact rule values, each parameter in
   the stock class's dtype (a router its ``_keep_in_fp32_modules`` keeps in float32 stays float32).
3. ``eps``: ε = 1e-6 is a float16 subnormal: is it kept or flushed by a device matmul (plain and autocast,
   small and large), and by the first attention branch of each family? Reported, not judged: a flush is a finding.
4. ``train``: 200 bf16-autocast and fp16-autocast+GradScaler steps of every family from IDInit:
   finite losses and weights, loss goes down.
5. ``multi``: with >= 2 devices, FSDP2 (``fully_shard``, NCCL) of IDInit models: the gathered full state dict
   equals the CPU build, also when rank 0 alone initializes and broadcasts. Skipped with one GPU.
6. ``compile``: tokens/s of a GPT-2 (12 x 768, 8 x 1024 tokens, bf16 autocast; a 2 x 128 one with ``--cpu``)
   trained eager and compiled (``torch.compile``, inductor, as ``--torch_compile``), with the MFU against the
   card's peak (``idinit_hf.training.throughput``). Reported (INFO); FAIL only if compiled training is not
   finite or departs from eager.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
import transformers
from torch.nn import functional

import idinit_hf
from idinit_hf import testing
from idinit_hf.diagnostics import role_modules
from idinit_hf.roles import Role

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = list(testing.names())  # every family of the registry is checked (--families: some of them)
IDINIT_SEED = 1234
STEPS = 200  # --quick: 60
#: the checks, in the order they run (--checks picks some; numbered as in the docstring above)
CHECKS = ("build", "patterns", "eps", "train", "multi", "compile")
RESULTS: list[tuple[str, str, str, float]] = []  # (check, PASS/FAIL/SKIP/INFO, detail, seconds)
#: Text examples of 64 tokens, and models big enough for real BLAS / tensor-core kernels (2 blocks of width 64).
TOKENS, DEPTH, WIDTH = 64, 2, 64


# --- models and data ---------------------------------------------------------------------------------------


def config(family: str, **options):
    """The family's small config from the registry (idinit_hf.testing): trained in seconds."""
    init = {"init_method": "idinit", "idinit_seed": IDINIT_SEED, **options}
    return testing.tiny_config(family, DEPTH, WIDTH, data=testing.data_shape(family, length=TOKENS), **init)


def build(family: str, device: str, dtype: torch.dtype | None = None, **options) -> torch.nn.Module:
    """from_config with the weights allocated and initialized on ``device`` (not built on the CPU and moved)."""
    torch.manual_seed(0)
    with torch.device(device):
        return testing.auto_class(family).from_config(config(family, **options), dtype=dtype)


def role_names(model: torch.nn.Module) -> list[str]:
    """Parameters IDInit writes and verify checks (not tied, not library-default)."""
    layers = idinit_hf.verify(model).layers
    return [x.name for x in layers if x.matches is not None and x.rule not in (idinit_hf.Rule.DEFAULT, idinit_hf.Rule.TIED)]


def role_mismatches(model: torch.nn.Module, reference: torch.nn.Module) -> list[str]:
    """Role parameters of ``model`` not bit-identical (after a copy to the CPU) to ``reference``'s."""
    got, want = dict(model.named_parameters()), dict(reference.named_parameters())
    return [n for n in role_names(reference) if not torch.equal(got[n].detach().cpu(), want[n].detach().cpu())]


def batch_fn(family: str, device: str) -> Callable[[int], dict[str, torch.Tensor]]:
    """step -> a batch of real data for the family's objective, on ``device``: 8 x 64 tokens of CPython's reference
    text, or 32 of scikit-learn's 8x8 digits (idinit_hf.testing)."""
    image = testing.family(family).modality == "image"
    batches = testing.training_batches(family, batch=32 if image else 8, tokens=TOKENS, images=512)
    return lambda step: {key: value.to(device) for key, value in batches(step).items()}


# --- bookkeeping -------------------------------------------------------------------------------------------


def run_check(name: str, fn: Callable[[], tuple[str, str]]) -> None:
    """Run one check; it returns (status, detail). An exception is a FAIL with its last line."""
    start = time.perf_counter()
    try:
        status, detail = fn()
    except Exception as error:  # noqa: BLE001 (every failure must reach the summary table)
        traceback.print_exc()
        status, detail = "FAIL", f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:160]
    seconds = time.perf_counter() - start
    RESULTS.append((name, status, detail, seconds))
    print(f"[{status}] {name} ({seconds:.1f} s): {detail}", flush=True)


def verdict(problems: list[str], ok: str) -> tuple[str, str]:
    return ("FAIL", "; ".join(problems)[:300]) if problems else ("PASS", ok)


# --- 1. build on the device vs the CPU ---------------------------------------------------------------------


def check_build(device: str) -> tuple[str, str]:
    problems = []
    for family in FAMILIES:
        reference = build(family, "cpu")
        on_device = build(family, device)
        if next(on_device.parameters()).device.type != torch.device(device).type:
            problems.append(f"{family}: weights not on {device}")
        if not idinit_hf.verify(on_device).ok:
            problems.append(f"{family}: verify failed on {device}")
        if bad := role_mismatches(on_device, reference):
            problems.append(f"{family} from_config: {len(bad)} role tensors differ, e.g. {bad[0]}")
        with torch.device("meta"):
            deferred = testing.auto_class(family).from_config(config(family))
        deferred.to_empty(device=device)
        deferred.init_weights()
        if bad := role_mismatches(deferred, reference):
            problems.append(f"{family} meta->to_empty->init_weights: {len(bad)} role tensors differ, e.g. {bad[0]}")
        # a base model saved by stock transformers, loaded into the pretraining head: the missing weights (the head)
        # get IDInit on the device exactly as on the CPU
        with tempfile.TemporaryDirectory() as folder:
            torch.manual_seed(5)
            transformers.AutoModel.from_config(config(family, init_method="default")).save_pretrained(folder)
            loads = {}
            for where in ("cpu", device):
                torch.manual_seed(0)
                loads[where] = testing.auto_class(family).from_pretrained(
                    folder, init_method="idinit", idinit_seed=IDINIT_SEED, device_map=where)
            if not idinit_hf.verify(loads[device]).ok:
                problems.append(f"{family} from_pretrained(device_map={device!r}): missing weights not IDInit")
            if bad := role_mismatches(loads[device], loads["cpu"]):
                problems.append(f"{family} from_pretrained(device_map={device!r}): {bad} differ")
    return verdict(problems, "role weights bit-identical to the CPU build (from_config, meta+to_empty, from_pretrained)")


# --- 2. low-precision patterns on the device ---------------------------------------------------------------


def check_patterns(device: str) -> tuple[str, str]:
    problems = []
    for dtype in (torch.bfloat16, torch.float16):
        for family in FAMILIES:
            model = build(family, device, dtype=dtype)
            report = idinit_hf.verify(model)
            if not report.ok:
                problems.append(f"{family} {dtype}: {len(report.failures())} mismatches")
            # the stock class decides which weights stay float32 (_keep_in_fp32_modules, e.g. DeepSeek-V3's router)
            stock = build(family, device, dtype=dtype, init_method="default")
            if odd := [n for n, p in model.named_parameters() if p.dtype != stock.get_parameter(n).dtype]:
                problems.append(f"{family} {dtype}: {len(odd)} parameters not in the stock class's dtype, e.g. {odd[0]}")
            if not any(p.dtype == dtype for p in model.parameters()):
                problems.append(f"{family} {dtype}: no parameter in {dtype}")
            if bad := role_mismatches(model, build(family, "cpu", dtype=dtype)):
                problems.append(f"{family} {dtype}: {len(bad)} role tensors differ from the CPU build")
    return verdict(problems, "bf16 and fp16: exact rule values, equal to the CPU build")


# --- 3. float16 subnormal ε ---------------------------------------------------------------------------------


class ForwardRefused(RuntimeError):
    """A kernel of the stack refused the stock model's forward in this dtype (not a fault of the init)."""


def first_branch_nonzero(family: str, device: str, dtype: torch.dtype) -> float:
    """The fraction of nonzero outputs of the family's first residual branch, built and fed in ``dtype``. Raises
    ForwardRefused where the forward (only it: a failing build is a fault) raises a RuntimeError."""
    model = build(family, device, dtype=dtype)
    outputs: dict[str, torch.Tensor] = {}
    branch_end = (role_modules(model, Role.ATTENTION_OUT) or role_modules(model, Role.MLP_OUT))[0]
    branch_end.register_forward_hook(lambda m, a, out, keep=outputs: keep.setdefault("branch", out))
    inputs = {k: v for k, v in batch_fn(family, device)(0).items() if k != "labels"}
    try:
        with torch.no_grad():
            model(**{k: v.to(dtype) if v.is_floating_point() else v for k, v in inputs.items()})
    except RuntimeError as error:
        raise ForwardRefused(str(error).splitlines()[0] if str(error) else type(error).__name__) from error
    return float((outputs["branch"] != 0).float().mean())


def check_fp16_epsilon(device: str) -> tuple[str, str]:
    """Reports how many ε entries survive a float16 matmul on the device (I is the input: the output is W)."""
    findings = []
    epsilon = torch.tensor(1e-6, dtype=torch.float16)
    assert 0 < float(epsilon) < torch.finfo(torch.float16).tiny, "1e-6 should be a float16 subnormal"
    for size in (64, 1024):
        weight = idinit_hf.idiz_(torch.empty(size, size, dtype=torch.float16, device=device), 1e-6)
        eye = torch.eye(size, dtype=torch.float16, device=device)
        expected = int((weight != 0).sum())
        plain = functional.linear(eye, weight)
        with torch.autocast(torch.device(device).type, dtype=torch.float16):
            autocast = functional.linear(eye.float(), weight.float())
        for label, out in (("matmul", plain), ("autocast", autocast)):
            exact = torch.equal(out.float().cpu(), weight.t().float().cpu())
            findings.append(f"{label} {size}: {int((out != 0).sum())}/{expected} kept{'' if exact else ' (not exact)'}")
    for family in FAMILIES:  # the first residual branch of each family (attention, else MLP / conv), fed real data
        try:
            fractions = {dtype: first_branch_nonzero(family, device, dtype) for dtype in (torch.float32, torch.float16)}
        except ForwardRefused as error:
            # a kernel the stock model calls may refuse a pure-fp16 forward (transformers' grouped_mm for MoE experts
            # with 88-byte rows on the CPU): a finding about the stack, reported with the family, not an abort
            findings.append(f"{family}: forward failed ({error})")
            continue
        findings.append(f"{family} first branch nonzero: fp32 {fractions[torch.float32]:.2f}, "
                        f"fp16 {fractions[torch.float16]:.2f}")
    return "INFO", "; ".join(findings)


# --- 4. mixed-precision training ----------------------------------------------------------------------------


def train(family: str, device: str, dtype: torch.dtype) -> tuple[list[float], torch.nn.Module, float]:
    """STEPS AdamW steps, float32 master weights, autocast to ``dtype``; float16 with a GradScaler."""
    model = build(family, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    device_type = torch.device(device).type
    scaler = torch.amp.GradScaler(device_type, enabled=dtype == torch.float16)
    batch = batch_fn(family, device)
    losses = []
    model.train()
    for step in range(STEPS):
        with torch.autocast(device_type, dtype=dtype):
            loss = model(**batch(step)).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach())
    return [float(x) for x in losses], model, scaler.get_scale() if scaler.is_enabled() else 1.0


def check_train(device: str, family: str, dtype: torch.dtype) -> tuple[str, str]:
    losses, model, scale = train(family, device, dtype)
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    problems = []
    if not all(math.isfinite(x) for x in losses):
        problems.append(f"non-finite loss at step {next(i for i, x in enumerate(losses) if not math.isfinite(x))}")
    if not all(bool(p.isfinite().all()) for p in model.parameters()):
        problems.append("non-finite weights")
    if scale < 1.0:
        problems.append(f"loss scale collapsed to {scale}")
    if not last < 0.9 * first:
        problems.append(f"loss did not go down: {first:.3f} -> {last:.3f}")
    return verdict(problems, f"loss {first:.3f} -> {last:.3f}, scale {scale:g}")


# --- 5. multi-device FSDP2 -----------------------------------------------------------------------------------


def fsdp_worker(device_type: str, out: str) -> None:
    """One rank of the multi-device check (launched by torchrun): build, shard, gather; rank 0 compares."""
    import torch.distributed as dist
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        set_model_state_dict,
    )
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = f"cuda:{int(os.environ['LOCAL_RANK'])}" if device_type == "cuda" else "cpu"
    if device_type == "cuda":
        torch.cuda.set_device(device)
    mesh = init_device_mesh(device_type, (world,))
    gather = StateDictOptions(full_state_dict=True, cpu_offload=True)

    def shard(model):
        for module in model.modules():
            if type(module).__name__ in set(model._no_split_modules or ()):
                fully_shard(module, mesh=mesh)
        return fully_shard(model, mesh=mesh)

    problems = []
    for family in FAMILIES:
        reference = build(family, "cpu").state_dict() if rank == 0 else {}
        full = get_model_state_dict(shard(build(family, device)), options=gather)
        if rank == 0:
            problems += [f"{family}: {n}" for n in reference if not torch.equal(full[n], reference[n])]
        # rank 0 alone initializes, the others start on meta; the broadcast fills them (RAM-efficient loading)
        if rank == 0:
            model = build(family, device)
            source = model.state_dict()
            model = model.to("meta")
        else:
            with torch.device("meta"):
                model = testing.auto_class(family).from_config(config(family))
            source = {}
        shard(model).to_empty(device=device)
        set_model_state_dict(model, source, options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True))
        full = get_model_state_dict(model, options=gather)
        if rank == 0:
            problems += [f"{family} rank-0 init: {n}" for n in reference if not torch.equal(full[n], reference[n])]
    if rank == 0:
        Path(out).write_text(json.dumps(problems))
    dist.barrier()
    dist.destroy_process_group()


def free_port() -> int:
    """A TCP port no other process listens on now (the rendezvous of this check's torchrun)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_multi(device: str) -> tuple[str, str]:
    device_type = torch.device(device).type
    count = torch.cuda.device_count() if device_type == "cuda" else 2
    if count < 2:
        return "SKIP", f"{count} GPU: FSDP2 / ZeRO-3 need >= 2 (CPU tests cover them: tests/test_sharded.py)"
    nproc = min(count, 2)
    with tempfile.TemporaryDirectory() as folder:
        out = f"{folder}/fsdp.json"
        command = [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_port",
            str(free_port()), __file__, "--fsdp-worker", device_type, out, "--families", *FAMILIES,
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
        if result.returncode != 0:
            return "FAIL", f"torchrun rc={result.returncode}: {result.stderr.strip().splitlines()[-1:]}"
        problems = json.loads(Path(out).read_text())
    zero3 = "ZeRO-3 not scripted here (deepspeed is not preinstalled; CPU test covers it)"
    return verdict(problems, f"FSDP2 on {nproc} x {device_type}: gathered = CPU build (all ranks init, rank-0 init); {zero3}")


# --- main ----------------------------------------------------------------------------------------------------


# --- 6. compiled vs eager tokens/s ------------------------------------------------------------------------------


def check_compile(device: str) -> tuple[str, str]:
    from transformers import GPT2Config

    from idinit_hf.training.throughput import device_peak_tflops, flops_per_token, format_mfu, mfu

    on_gpu = device != "cpu"
    layers, width, block, batch, steps = (12, 768, 1024, 8, 30) if on_gpu else (2, 128, 128, 8, 10)
    config = GPT2Config(n_layer=layers, n_embd=width, n_head=width // 64, n_positions=block, vocab_size=50304,
                        init_method="idinit", idinit_seed=IDINIT_SEED)
    dtype = torch.bfloat16 if on_gpu and torch.cuda.is_bf16_supported() else torch.float32
    data = torch.randint(50304, (steps + 1, batch, block), generator=torch.Generator().manual_seed(0))
    rates, losses, first_call = {}, {}, 0.0
    for mode in ("eager", "compiled"):
        torch.manual_seed(0)
        with torch.device(device):
            model = idinit_hf.AutoModelForCausalLM.from_config(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        forward = torch.compile(model) if mode == "compiled" else model
        losses[mode] = []
        for step in range(steps + 1):  # step 0: warm-up (and the compilation), not timed
            if step == 1:
                torch.cuda.synchronize() if on_gpu else None
                start = time.perf_counter()
            ids = data[step].to(device)
            begin = time.perf_counter()
            with torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype != torch.float32):
                loss = forward(input_ids=ids, labels=ids).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses[mode].append(loss.item())
            if step == 0 and mode == "compiled":
                first_call = time.perf_counter() - begin
        rates[mode] = steps * batch * block / (time.perf_counter() - start)
        flops = flops_per_token(model, block)
    peak = device_peak_tflops(device)
    problems = []
    if not all(math.isfinite(x) for x in losses["compiled"]):
        problems.append("non-finite compiled loss")
    if abs(losses["compiled"][-1] - losses["eager"][-1]) > 0.05 * abs(losses["eager"][-1]):
        problems.append(f"compiled loss {losses['compiled'][-1]:.4f} departs from eager {losses['eager'][-1]:.4f}")
    detail = (f"GPT-2 {layers}x{width}, {batch}x{block} tokens, {str(dtype).split('.')[-1]}: eager "
              f"{rates['eager']:,.0f} tok/s (MFU {format_mfu(mfu(flops, rates['eager'], peak))}), compiled "
              f"{rates['compiled']:,.0f} tok/s (MFU {format_mfu(mfu(flops, rates['compiled'], peak))}), "
              f"x{rates['compiled'] / rates['eager']:.2f}; first compiled step {first_call:.0f} s; peak "
              f"{peak or 'unknown'} TFLOP/s")
    return ("FAIL", "; ".join(problems) + "; " + detail) if problems else ("INFO", detail)


def summary(stopped: str = "") -> int:
    """The table of every finished check; 1 if one failed or the run was ``stopped`` before the end."""
    print("\n" + "=" * 110)
    print(f"{'check':26} {'status':6} {'s':>6}  detail")
    for name, status, detail, seconds in RESULTS:
        print(f"{name:26} {status:6} {seconds:6.1f}  {detail}")
    failed = [r for r in RESULTS if r[1] == "FAIL"]
    print(f"{len(RESULTS)} checks, {len(failed)} failed" + (f"; {stopped}" if stopped else ""), flush=True)
    return 1 if failed or stopped else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="dry run: every check on the CPU")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=FAMILIES, metavar="FAMILY",
                        help=f"check these families of the registry only (default: all of {', '.join(FAMILIES)})")
    parser.add_argument("--quick", action="store_true",
                        help="60 training steps instead of 200, and no multi-device or compile check unless --checks names it")
    parser.add_argument("--checks", nargs="+", choices=CHECKS, metavar="CHECK",
                        help=f"run these checks only (default: all of {', '.join(CHECKS)}; with --quick all but multi "
                             "and compile)")
    parser.add_argument("--fsdp-worker", nargs=2, metavar=("DEVICE_TYPE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    global STEPS
    FAMILIES[:] = args.families
    if args.quick:
        STEPS = 60
    if args.fsdp_worker:
        fsdp_worker(*args.fsdp_worker)
        return 0
    if not args.cpu and not torch.cuda.is_available():
        print("no CUDA device: run with --cpu for a dry run", file=sys.stderr)
        return 2
    device = "cpu" if args.cpu else "cuda"
    name = "CPU (dry run)" if args.cpu else torch.cuda.get_device_name(0)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, idinit_hf {idinit_hf.__version__}, "
          f"device {name}, CUDA devices {torch.cuda.device_count()}", flush=True)
    if args.cpu:
        torch.set_num_threads(1)  # tiny models: threads only add overhead on a shared CPU
    checks = args.checks or [c for c in CHECKS if not (args.quick and c in ("multi", "compile"))]
    # a timeout (check_gpu.sh's) still prints the table of the checks that finished
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(summary(stopped="stopped by SIGTERM (timeout)")))
    if "build" in checks:
        run_check("build cuda=cpu" if not args.cpu else "build device=cpu", lambda: check_build(device))
    if "patterns" in checks:
        run_check("patterns bf16/fp16", lambda: check_patterns(device))
    if "eps" in checks:
        run_check("fp16 eps subnormal", lambda: check_fp16_epsilon(device))
    if "train" in checks:
        for dtype, label in ((torch.bfloat16, "bf16"), (torch.float16, "fp16")):
            for family in FAMILIES:
                run_check(f"train {family} {label} x{STEPS}", lambda f=family, d=dtype: check_train(device, f, d))
    if "multi" in checks:
        run_check("multi-device FSDP2", lambda: check_multi(device))
    if "compile" in checks:
        run_check("compile vs eager", lambda: check_compile(device))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
