#!/usr/bin/env python
"""Pretrain the same small GPT-2 three times: the default init, IDInit, and GPT-NeoX's init; compare validation losses.

    python examples/compare_inits.py                 # ~3-4 minutes on 2 CPU cores, offline
    python examples/compare_inits.py --steps 600 --n_layer 6 --n_embd 256   # a longer comparison

Every run goes through ``scripts/pretrain_clm.py`` (the real command line) on the embedded corpus (CPython's
``pydoc_data.topics``), with the same seed, hence the same data order, and the same tokenizer: the first run
trains it, the others reuse it. The only difference is the init: ``--init_method default``, ``--init_method
idinit``, and GPT-NeoX / Pythia's ``small_init`` + ``wang_init`` (what a practitioner would otherwise use: every
weight normal with std √(2/(5d)), branch outputs std 2/(L·√d); ``benchmarks/baselines.py``). It prints the validation
losses side by side at every evaluation and writes ``<output_dir>/compare_inits.png`` with the loss curves.

One seed and one short run say little about convergence; this is a demonstration of the pipeline, not a
benchmark (use several seeds and longer runs before drawing conclusions).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from idinit_hf.training.loop import read_log  # noqa: E402
from idinit_hf.training.plotting import plot_loss_curves  # noqa: E402

#: run label → ``--init_method``; the ``neox`` run is the library default, rewritten right after the script builds it
INITS = {"default": "default", "idinit": "idinit", "neox": "default"}
#: GPT-NeoX's init is a benchmark method, not a library feature: benchmarks/baselines.py applies it to any registry
#: family by role. This launcher runs pretrain_clm.py unchanged, except that the model it builds gets those weights
#: before training starts (set_seed comes first, so the draws are the same on every run of the example).
NEOX_LAUNCHER = """
import runpy, sys
sys.path.insert(0, {benchmarks!r})
import idinit_hf.training.modeling as modeling
from baselines import neox_init_

stock_build_model = modeling.build_model


def build_model(task, config):
    model = stock_build_model(task, config)
    neox_init_(model)
    return model


modeling.build_model = build_model
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
""".format(benchmarks=str(ROOT / "benchmarks"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--output_dir", default=str(ROOT / "out" / "compare_inits"))
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps per run")
    parser.add_argument("--eval_steps", type=int, default=25)
    parser.add_argument("--n_layer", type=int, default=4)
    parser.add_argument("--n_embd", type=int, default=64)
    parser.add_argument("--n_head", type=int, default=4)
    parser.add_argument("--block_size", type=int, default=64)
    parser.add_argument("--vocab_size", type=int, default=2000)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def pretrain(label: str, args: argparse.Namespace, tokenizer_from: Path | None) -> Path:
    """One run of scripts/pretrain_clm.py; returns its output folder."""
    out = Path(args.output_dir) / label
    launcher = [sys.executable, "-c", NEOX_LAUNCHER] if label == "neox" else [sys.executable]
    command = [
        *launcher, str(ROOT / "scripts" / "pretrain_clm.py"),
        "--init_method", INITS[label],
        "--config_overrides", f"n_layer={args.n_layer},n_embd={args.n_embd},n_head={args.n_head},"
                              f"n_positions={args.block_size}",
        "--block_size", str(args.block_size),
        "--vocab_size", str(args.vocab_size),
        "--per_device_train_batch_size", str(args.batch_size),
        "--learning_rate", str(args.learning_rate),
        "--num_warmup_steps", str(max(1, args.steps // 20)),
        "--lr_scheduler_type", "cosine",
        "--weight_decay", "0.01",
        "--max_train_steps", str(args.steps),
        "--eval_steps", str(args.eval_steps),
        "--logging_steps", "5",
        "--seed", str(args.seed),
        "--output_dir", str(out), "--overwrite_output_dir",
    ]
    if tokenizer_from is not None:
        command += ["--tokenizer_name", str(tokenizer_from)]
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           # one thread unless told otherwise: on a busy 2-core machine two OpenMP threads per process stalled
           # each step ~10x (measured: 700 vs 6 600 tokens/s); set OMP_NUM_THREADS to use more cores
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    print(f"--- pretraining with the {label} init -> {out}", flush=True)
    subprocess.run(command, env=env, check=True)
    return out


def main() -> None:
    args = parse_args()
    runs = {}
    for label in INITS:
        runs[label] = pretrain(label, args, tokenizer_from=runs.get("default"))

    logs = {init: read_log(out / "log.jsonl") for init, out in runs.items()}
    evals = {init: {r["step"]: r for r in log if r["kind"] == "eval"} for init, log in logs.items()}
    print(f"\nvalidation loss (perplexity), GPT-2 {args.n_layer}x{args.n_embd}, seed {args.seed}:")
    print(f"{'step':>6} | " + " | ".join(f"{label:>20}" for label in INITS))
    for step in sorted(set.intersection(*(set(e) for e in evals.values()))):
        cells = [f"{evals[i][step]['eval_loss']:8.4f} ({evals[i][step]['perplexity']:8.1f})" for i in INITS]
        print(f"{step:>6} | " + " | ".join(f"{c:>20}" for c in cells))
    plot = plot_loss_curves(logs, Path(args.output_dir) / "compare_inits.png",
                            title=f"GPT-2 {args.n_layer}x{args.n_embd} on pydoc_data.topics: default, IDInit, "
                                  "GPT-NeoX init")
    summary = {init: json.loads((out / "all_results.json").read_text()) for init, out in runs.items()}
    (Path(args.output_dir) / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nloss curves: {plot}\nper-run results: {Path(args.output_dir) / 'summary.json'}")


if __name__ == "__main__":
    main()
