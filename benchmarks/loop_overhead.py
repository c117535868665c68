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
one. Results are printed and written to ``benchmarks/results/loop_overhead.json``.
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


def scripts_loop(accelerator, args, dataset, max_grad_norm: float) -> float:
    """The scripts' loop, as ``pretrain_clm.py`` runs it (no evaluation, no checkpoints)."""
    from accelerate.utils import set_seed
    from transformers import default_data_collator

    from idinit_hf.training.args import build_parser
    from idinit_hf.training.loop import TrainingJob, train
    from idinit_hf.training.modeling import build_model

    with tempfile.TemporaryDirectory() as out:
        flags = build_parser("clm", "").parse_args([
            "--output_dir", out, "--max_train_steps", str(args.steps), "--learning_rate", "1e-3",
            "--per_device_train_batch_size", str(args.batch_size), "--max_grad_norm", str(max_grad_norm)])
        flags.task = "clm"
        set_seed(0)
        model = build_model("clm", make_config(args))
        job = TrainingJob(args=flags, accelerator=accelerator, model=model, train_dataset=dataset, eval_dataset=None,
                          collate_fn=default_data_collator, evaluator=None, unit="tokens",
                          count_units=lambda batch: batch["input_ids"].numel())
        return train(job).units_per_second


def main() -> None:
    args = parse_args()
    import transformers
    from accelerate import Accelerator

    transformers.utils.logging.set_verbosity_error()
    accelerator = Accelerator(mixed_precision=args.mixed_precision, cpu=not torch.cuda.is_available())
    dataset = make_dataset(args)
    runs = {
        "minimal": lambda: minimal_loop(accelerator, args, dataset),
        "scripts (no clipping)": lambda: scripts_loop(accelerator, args, dataset, 0.0),
        "scripts (default: clip 1.0)": lambda: scripts_loop(accelerator, args, dataset, 1.0),
    }
    for run in runs.values():  # warm-up: first-call allocations, kernel selection
        run()
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            rates[name].append(run())
    medians = {name: statistics.median(values) for name, values in rates.items()}
    base = medians["minimal"]
    print(f"\nGPT-2 {args.n_layer}x{args.n_embd}, vocab {args.vocab_size}, {args.batch_size}x{args.block_size} tokens "
          f"per step, {args.steps} steps, {args.repeats} repeats, device {accelerator.device}, "
          f"precision {args.mixed_precision}, torch threads {torch.get_num_threads()}")
    for name, value in medians.items():
        print(f"  {name:<30} {value:10.0f} tokens/s  ({value / base - 1:+.1%} vs minimal)   runs: "
              + ", ".join(f"{v:.0f}" for v in rates[name]))
    result = {"settings": vars(args), "device": str(accelerator.device), "machine": platform.processor() or
              platform.machine(), "torch_threads": torch.get_num_threads(), "tokens_per_second": rates,
              "median": medians, "relative_to_minimal": {k: v / base - 1 for k, v in medians.items()}}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
