#!/usr/bin/env python
"""Tokens/s of the pretraining scripts' loop (``idinit_hf.training.loop.train``) vs a minimal accelerate loop.

    python benchmarks/loop_overhead.py                       # 2-layer GPT-2, ~1-2 minutes on 2 CPU cores
    python benchmarks/loop_overhead.py --n_layer 12 --n_embd 768 --block_size 1024 --steps 50   # on a GPU

Both loops train the same GPT-2 (same seed, same init) on the same random token blocks, one process, fp32 unless
``--mixed_precision``. The minimal loop is forward, ``accelerator.backward``, AdamW step, ``zero_grad`` and
``loss.item()``. The scripts' loop adds the LR scheduler, ``accelerator.accumulate``, per-step loss reduction and
logging (JSONL + tqdm), seeded data loading; it is run with ``--max_grad_norm 0`` (the same math as the minimal
loop: the overhead) and with the default clipping (what a default run pays). Runs alternate, ``--repeats`` times
each after one warm-up; the median is reported. The issue asks the scripts' loop to be within 5 % of the minimal
one, eager.

Then, unless ``--no_compile``, the same two loops with the model compiled (``torch.compile``, inductor), as
``--torch_compile`` does it: through accelerate's dynamo plugin, so ``accelerator.prepare`` compiles the model
once. The warm-up run pays the compilation; the timed runs reuse it (recompiled models of the same
architecture hit the cache). The compiled block runs after the eager one, with a fresh Accelerator. Results are
printed and written to ``benchmarks/results/loop_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n_layer", type=int, default=2)
    parser.add_argument("--n_embd", type=int, default=128)
    parser.add_argument("--vocab_size", type=int, default=2000)
    parser.add_argument("--block_size", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mixed_precision", default="no", choices=("no", "fp16", "bf16"))
    parser.add_argument("--no_compile", action="store_true", help="skip the compiled runs")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "loop_overhead.json"))
    return parser.parse_args()


def make_config(args):
    from transformers import GPT2Config

    return GPT2Config(n_layer=args.n_layer, n_embd=args.n_embd, n_head=max(1, args.n_embd // 64),
                      n_positions=args.block_size, vocab_size=args.vocab_size, init_method="idinit")


def make_dataset(args):
    from datasets import Dataset

    generator = torch.Generator().manual_seed(0)
    blocks = torch.randint(args.vocab_size, (args.batch_size * (args.steps + 1), args.block_size),
                           generator=generator).tolist()
    return Dataset.from_dict({"input_ids": blocks, "labels": blocks})


def minimal_loop(accelerator, args, dataset) -> float:
    """The baseline: nothing but the training step; tokens/s over ``--steps`` steps."""
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import default_data_collator

    from idinit_hf.training.modeling import build_model

    set_seed(0)
    model = build_model("clm", make_config(args))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, collate_fn=default_data_collator)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    model.train()
    tokens, seconds = 0, 0.0
    start = time.perf_counter()
    for step, batch in enumerate(loader):
        if step == args.steps:
            break
        loss = model(**batch).loss
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        loss.item()
        tokens += batch["input_ids"].numel()
        now = time.perf_counter()
        seconds += now - start
        start = now
    return tokens / seconds


def scripts_loop(accelerator, args, dataset, max_grad_norm: float, compiled: bool = False) -> float:
    """The scripts' loop, as ``pretrain_clm.py`` runs it (no evaluation, no checkpoints)."""
    from accelerate.utils import set_seed
    from transformers import default_data_collator

    from idinit_hf.training.args import build_parser
    from idinit_hf.training.data.train_data import InMemoryData
    from idinit_hf.training.loop import TrainingJob, train
    from idinit_hf.training.modeling import build_model
    from idinit_hf.training.tasks import TASKS

    with tempfile.TemporaryDirectory() as out:
        flags = build_parser("clm", "").parse_args([
            "--output_dir", out, "--max_train_steps", str(args.steps), "--learning_rate", "1e-3",
            "--per_device_train_batch_size", str(args.batch_size), "--max_grad_norm", str(max_grad_norm),
            *(["--torch_compile"] if compiled else [])])
        flags.task = "clm"
        set_seed(0)
        model = build_model("clm", make_config(args))
        job = TrainingJob(args=flags, accelerator=accelerator, model=model, task=TASKS["clm"],
                          train_data=InMemoryData(dataset), eval_dataset=None, collate_fn=default_data_collator,
                          evaluator=None)
        return train(job).units_per_second


def measure(runs: dict, repeats: int) -> dict[str, list[float]]:
    """One warm-up of every run, then ``repeats`` alternating rounds; tokens/s of each run."""
    for run in runs.values():  # warm-up: first-call allocations, kernel selection, compilation
        run()
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            rates[name].append(run())
    return rates


def make_accelerator(args, compiled: bool):
    """A fresh Accelerator (accelerate's state is process-wide): inductor compilation when ``compiled``."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    return Accelerator(mixed_precision=args.mixed_precision, cpu=not torch.cuda.is_available(),
                       dynamo_backend="inductor" if compiled else "no")


def main() -> None:
    args = parse_args()
    import transformers

    transformers.utils.logging.set_verbosity_error()
    dataset = make_dataset(args)
    accelerator = make_accelerator(args, compiled=False)
    rates = measure({
        "minimal": lambda: minimal_loop(accelerator, args, dataset),
        "scripts (no clipping)": lambda: scripts_loop(accelerator, args, dataset, 0.0),
        "scripts (default: clip 1.0)": lambda: scripts_loop(accelerator, args, dataset, 1.0),
    }, args.repeats)
    device = str(accelerator.device)
    compile_seconds = None
    if not args.no_compile:
        accelerator = make_accelerator(args, compiled=True)
        start = time.perf_counter()
        minimal_loop(accelerator, args, dataset)  # the first compilation, timed on its own
        compile_seconds = time.perf_counter() - start
        rates.update(measure({
            "minimal, compiled": lambda: minimal_loop(accelerator, args, dataset),
            "scripts (no clipping), compiled": lambda: scripts_loop(accelerator, args, dataset, 0.0, True),
        }, args.repeats))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    base = medians["minimal"]
    print(f"\nGPT-2 {args.n_layer}x{args.n_embd}, vocab {args.vocab_size}, {args.batch_size}x{args.block_size} tokens "
          f"per step, {args.steps} steps, {args.repeats} repeats, device {device}, "
          f"precision {args.mixed_precision}, torch threads {torch.get_num_threads()}")
    for name, value in medians.items():
        print(f"  {name:<34} {value:10.0f} tokens/s  ({value / base - 1:+.1%} vs minimal eager)   runs: "
              + ", ".join(f"{v:.0f}" for v in rates[name]))
    compiled_vs_eager = {}
    if not args.no_compile:
        compiled_vs_eager = {"minimal": medians["minimal, compiled"] / medians["minimal"],
                             "scripts (no clipping)": medians["scripts (no clipping), compiled"]
                             / medians["scripts (no clipping)"]}
        print(f"  compiled / eager: minimal x{compiled_vs_eager['minimal']:.2f}, scripts "
              f"x{compiled_vs_eager['scripts (no clipping)']:.2f}; first compilation + {args.steps} steps "
              f"{compile_seconds:.0f} s")
    result = {"settings": vars(args), "device": device, "machine": platform.processor() or
              platform.machine(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "tokens_per_second": rates, "median": medians,
              "relative_to_minimal": {k: v / base - 1 for k, v in medians.items()},
              "compiled_over_eager": compiled_vs_eager, "first_compile_run_seconds": compile_seconds}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
