"""Branches that end in a norm, at init and without the norm's ε floor (issue 19: OLMo 2 against torchtitan's
depth init).

    python benchmarks/norm_floor.py                                        # OLMo 2, 16 layers, 3 seeds, 5 min
    python benchmarks/norm_floor.py --family gemma2 --seeds 0 --methods idinit neox

In OLMo 2 (``h = x + norm(f(x))``, no norm at a branch's input) an RMSNorm divides by √(mean(f²) + ε). Where a
branch's output f is much smaller than √ε the norm does not normalize: it scales by about 1/√ε and the branch
comes out damped. This script measures, for each method:

1. at init, on a fixed validation batch, the RMS of every branch's output entering its norm (``pre``) and of the
   norm's output before its gain (``normalized``, 1 where the norm normalizes, ≪ 1 under the floor), per block;
2. the head-to-head run (benchmarks/common.py: same data, batches, model and loop as convergence.py's) with every
   RMSNorm's ε set to ``--eps`` (default 1e-10: no floor). The stock-ε runs are convergence.py's, in
   results/convergence.json (same settings, same seeds).

A method that trails because its branches sit under the floor gains from the smaller ε. Writes
results/issue19/norm_floor_<family>.json (``--output_dir``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import common
import torch
from common import Batches, RunSettings, build, load_text, train_run
from runs import machine, session

RESULTS = Path(__file__).parent / "results" / "issue19"


@torch.no_grad()
def branch_scales(model: torch.nn.Module, batch: dict) -> dict[str, list[dict]]:
    """Per block, the RMS of what enters each branch-end norm and of its normalized output (the gain divided out)."""
    found: dict[str, list[dict]] = {}
    hooks = []
    for name, module in model.named_modules():
        norm_name = name.rsplit(".", 1)[-1]
        eps = getattr(module, "variance_epsilon", getattr(module, "eps", None))  # OLMo 2's RMSNorm, Gemma 2's
        if not norm_name.startswith("post_") or not isinstance(eps, float):
            continue  # OLMo 2: post_attention_layernorm / post_feedforward_layernorm; Gemma 2 the same names

        def record(module, inputs, output, branch=norm_name, eps=eps):
            x = inputs[0].float()
            pre = float(x.pow(2).mean().sqrt())
            normalized = float((x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)).pow(2).mean().sqrt())
            found.setdefault(branch, []).append({"pre": pre, "normalized": normalized})

        hooks.append(module.register_forward_hook(record))
    model.eval()
    model(**batch)
    for hook in hooks:
        hook.remove()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="olmo2")
    parser.add_argument("--methods", nargs="+", default=["idinit", "depth-init"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--eps", type=float, default=1e-10, help="every RMSNorm's ε in the training runs")
    parser.add_argument("--steps", type=int, default=300, help="0: the scales at init only")
    parser.add_argument("--text_dir", default=None, help="folder of *.txt files (default: CPython's pydoc_data)")
    parser.add_argument("--output_dir", default=str(RESULTS))
    args = parser.parse_args(argv)
    started = time.time()
    torch.set_num_threads(1)
    # the head to head's text settings (benchmarks/run_issue19.sh, TEXT)
    settings = RunSettings(steps=max(args.steps, 1), eval_every=25, eval_batches=4, batch_size=8, block_size=64,
                           width=64, lr=1e-3, warmup=50)
    splits = load_text(args.text_dir)
    stock_config = common.model_config

    def with_eps(*positional, **options):
        return stock_config(*positional, **options, rms_norm_eps=args.eps)

    at_init, runs = {}, []
    probe = Batches(splits, args.family, settings.batch_size, settings.block_size, 0).evaluation("validation", 1)[0]
    for method in args.methods:
        model = build(args.family, method, args.depth, settings.width, settings.block_size, 0, 0)
        scales = branch_scales(model, probe)
        at_init[method] = {"eps": model.config.rms_norm_eps, "branches": scales}
        print(f"{method} at init (ε = {model.config.rms_norm_eps:g}): " + "; ".join(
            f"{branch} pre-norm RMS {statistics.median(b['pre'] for b in blocks):.1e}, normalized "
            f"{statistics.median(b['normalized'] for b in blocks):.2f}" for branch, blocks in scales.items()),
            flush=True)
    if args.steps:
        common.model_config = with_eps  # build() reads it from the module: every model of the runs below
        try:
            for seed in args.seeds:
                for method in args.methods:
                    model = build(args.family, method, args.depth, settings.width, settings.block_size, 0, seed)
                    assert model.config.rms_norm_eps == args.eps
                    run = train_run(model, Batches(splits, args.family, settings.batch_size, settings.block_size,
                                                   seed), settings)
                    runs.append({"method": method, "seed": seed, "eps": args.eps, "curve": run["curve"],
                                 "diverged": run["diverged"], "seconds": run["seconds"], "machine": machine()})
                    print(f"{method} seed {seed} ε {args.eps:g}: validation {run['curve'][-1][1]:.4f}", flush=True)
        finally:
            common.model_config = stock_config
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"norm_floor_{args.family}.json"
    command = "python benchmarks/norm_floor.py " + " ".join(sys.argv[1:] if argv is None else argv)
    path.write_text(json.dumps({"meta": {**session(command, started, complete=True), "family": args.family,
                                         "depth": args.depth, "data": splits.source, "settings": vars(settings)},
                                "at_init": at_init, "runs": runs}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
