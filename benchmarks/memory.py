#!/usr/bin/env python
"""Peak memory and step time of training with and without gradient checkpointing (``--gradient_checkpointing``).

    python benchmarks/memory.py                                  # GPT-2 and Llama, tiny and small, on CPU
    python benchmarks/memory.py --families gpt2 llama bert       # any text family of the registry
    python benchmarks/memory.py --sizes small --batch_size 16    # on a GPU: peak = torch.cuda.max_memory_allocated

Each (model, size, checkpointing) runs in a fresh process, so that one's peak cannot hide another's: build the
model (IDInit) and AdamW, then ``--steps`` training steps on random tokens (fp32, one thread on CPU). On CPU the
peak is the process's peak resident memory (``ru_maxrss``) minus its resident memory once the model and
optimizer are built (the family's config at the size's depth and width, idinit_hf.testing): what the steps added (activations, gradients, AdamW's moments), so the difference between
the two runs is the activation memory saved. The step time is the median over the steps after the first.
Checkpointing is the models' own switch, non-reentrant, as the scripts use it. Results go to
``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idinit_hf import testing  # noqa: E402

SIZES = {  # (layers, width, block): heads, MLP width and the rest follow from the family's own scale()
    "tiny": (2, 128, 128),
    "small": (4, 256, 256),
}
TEXT_FAMILIES = [name for name in testing.names() if testing.family(name).modality == "text"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["gpt2", "llama"], choices=TEXT_FAMILIES,
                        help="text families of the registry (random tokens as data)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=tuple(SIZES))
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--vocab_size", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "memory.json"))
    parser.add_argument("--worker", nargs=3, metavar=("FAMILY", "SIZE", "CHECKPOINTING"), help=argparse.SUPPRESS)
    return parser.parse_args()


def config(family: str, size: str, vocab_size: int):
    """The family's IDInit config at the size's depth and width, fitted to ``vocab_size`` tokens in blocks."""
    layers, width, block = SIZES[size]
    shape = testing.family(family).objective.text_shape(vocab_size, block)
    return testing.tiny_config(family, layers, width, data=shape, init_method="idinit")


def resident_bytes() -> int:
    """The current resident set of this process (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def worker(family: str, size: str, checkpointing: bool, args: argparse.Namespace) -> dict:
    """One measurement, in this (fresh) process."""
    import torch

    from idinit_hf.training.modeling import enable_gradient_checkpointing

    torch.set_num_threads(1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = testing.auto_class(family).from_config(config(family, size, args.vocab_size)).to(device)
    if checkpointing:
        enable_gradient_checkpointing(model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    block = SIZES[size][2]
    batch = torch.randint(args.vocab_size, (args.batch_size, block), generator=torch.Generator().manual_seed(0))
    batch = batch.to(device)
    before = resident_bytes()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    times, losses = [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    return {"family": family, "size": size, "gradient_checkpointing": checkpointing, "device": device,
            "parameters": sum(p.numel() for p in model.parameters()), "tokens_per_step": args.batch_size * block,
            "peak_bytes": peak, "before_steps_bytes": before, "added_by_steps_bytes": peak - before,
            "step_seconds_median": statistics.median(times[1:] or times), "losses": losses}


def main() -> None:
    args = parse_args()
    if args.worker:
        family, size, checkpointing = args.worker
        print(json.dumps(worker(family, size, checkpointing == "1", args)))
        return
    runs = []
    for size in args.sizes:
        for family in args.families:
            for checkpointing in ("0", "1"):
                command = [sys.executable, __file__, "--worker", family, size, checkpointing, "--steps",
                           str(args.steps), "--batch_size", str(args.batch_size), "--vocab_size", str(args.vocab_size)]
                result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
                runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
                run = runs[-1]
                print(f"{family:6} {size:6} checkpointing {'on ' if run['gradient_checkpointing'] else 'off'}  "
                      f"peak {run['peak_bytes'] / 2**20:8.1f} MiB, added by the steps "
                      f"{run['added_by_steps_bytes'] / 2**20:8.1f} MiB, step {run['step_seconds_median']:.3f} s",
                      flush=True)
    summary = {}
    for off, on in zip(runs[0::2], runs[1::2], strict=True):
        key = f"{off['family']} {off['size']}"
        summary[key] = {"saved_MiB": round((off["added_by_steps_bytes"] - on["added_by_steps_bytes"]) / 2**20, 1),
                        "added_MiB_without": round(off["added_by_steps_bytes"] / 2**20, 1),
                        "added_MiB_with": round(on["added_by_steps_bytes"] / 2**20, 1),
                        "step_time_ratio": round(on["step_seconds_median"] / off["step_seconds_median"], 3),
                        "same_losses": all(abs(a - b) <= 1e-5 * abs(a) for a, b in
                                           zip(off["losses"], on["losses"], strict=True))}
        print(f"{key}: checkpointing saves {summary[key]['saved_MiB']} MiB of "
              f"{summary[key]['added_MiB_without']} MiB, step time x{summary[key]['step_time_ratio']}, "
              f"same losses: {summary[key]['same_losses']}")
    import torch

    result = {"settings": {k: v for k, v in vars(args).items() if k != "worker"}, "sizes": SIZES,
              "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
              "runs": runs, "summary": summary}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
