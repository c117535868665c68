"""Why IDInit trailed GPT-NeoX's init on GPT-2 (issue 19): the logit scale or the residual stream's scale?

    python benchmarks/logit_scale.py                       # GPT-2, 16 layers, CPython text, seeds 0-2 (CPU-hours)
    python benchmarks/logit_scale.py --depth 4 --seeds 0   # a screen
    python benchmarks/logit_scale.py --variants stream logits   # the two that separate the causes

GPT-2 ties its LM head to the token table, so a larger table changes two things at once: the residual stream
(the table's rows are what the first block sees) and the logits (the same rows, dotted with the final norm's
output). Each variant below starts from the IDInit model that ``idinit:<--base>`` builds (the token table is the
library's N(0, 0.02) in the default ``--base``) and rescales after the build, with c = √(2/(5d)) / 0.02 (3.95 at
d = 64: the table GPT-NeoX's ``small_init`` draws):

* ``stream``: token table × c, final norm's gain ÷ c: the stream grows by c, the logits stay the library's (the
  final norm undoes the larger table in the head);
* ``logits``: final norm's gain × c: the logits grow by c, the stream stays the library's;
* ``both``: token table × c (what ``idinit_token_table="small"`` does, up to the draw).

Every variant trains as :mod:`convergence` does (same data, settings, batches and seeds: ``common.train_run``), and
the runs are written to ``--output`` as each ends (a rerun skips the finished ones). The table printed at the end
is the final validation loss per variant, mean over seeds.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import torch
from baselines import STD as STD_LIBRARY
from common import Batches, RunSettings, build, evaluate, load_text, train_run
from runs import machine, read_json, write_json

RESULTS = Path(__file__).parent / "results" / "issue19"


def rescale(model: torch.nn.Module, table: float, final_norm: float) -> None:
    """Multiply the token table (the tied head) by ``table`` and the final norm's gain by ``final_norm``."""
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(table)
        model.base_model.ln_f.weight.mul_(final_norm)


def variants(c: float) -> dict[str, tuple[float, float]]:
    """name → (table factor, final-norm factor)."""
    return {"idinit": (1.0, 1.0), "stream": (c, 1 / c), "logits": (1.0, c), "both": (c, 1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--base", default="token_table=embeddings",
                        help="IDInit's options the variants start from (idinit:<base>)")
    parser.add_argument("--variants", nargs="+", default=None, metavar="NAME",
                        help="run only these variants (default: all four)")
    parser.add_argument("--output", default=str(RESULTS / "logit_scale.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = RunSettings(steps=args.steps, eval_every=25, eval_batches=4, batch_size=8, block_size=64,
                           width=args.width, lr=1e-3, warmup=50)
    splits = load_text(None)
    c = math.sqrt(2 / (5 * args.width)) / STD_LIBRARY
    output = Path(args.output)
    runs = (read_json(output) or {}).get("runs", [])
    method = f"idinit:{args.base}"
    for seed in args.seeds:
        for name, (table, final_norm) in variants(c).items():
            if args.variants and name not in args.variants:
                continue
            key = dict(depth=args.depth, width=args.width, seed=seed, steps=args.steps, base=method, variant=name)
            if any(all(r[k] == v for k, v in key.items()) for r in runs):
                continue
            started = time.perf_counter()
            model = build("gpt2", method, args.depth, args.width, settings.block_size, 0, seed)
            rescale(model, table, final_norm)
            batches = Batches(splits, "gpt2", settings.batch_size, settings.block_size, seed)
            run = train_run(model, batches, settings)
            test_loss, _ = evaluate(model, batches.evaluation("test", settings.eval_batches))
            runs.append({**key, "factors": [table, final_norm], "curve": run["curve"], "test_loss": test_loss,
                         "machine": machine(), "wall_seconds": time.perf_counter() - started})
            print(f"seed {seed} {name:8} val {run['curve'][-1][1]:.4f} ({runs[-1]['wall_seconds']:.0f}s)", flush=True)
            write_json(output, {"meta": {"data": splits.source, "settings": vars(settings), "c": c}, "runs": runs})
    for name in variants(c):
        finals = [r["curve"][-1][1] for r in runs if r["variant"] == name and r["depth"] == args.depth
                  and r["width"] == args.width and r["base"] == method]
        if finals:
            spread = f" ± {statistics.stdev(finals):.3f}" if len(finals) > 1 else ""
            print(f"{name:8} {statistics.mean(finals):.3f}{spread} ({len(finals)} seeds)")


if __name__ == "__main__":
    main()
