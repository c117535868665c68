"""Stability: which runs diverge or stall, for each initialization, across learning rates, warm-up and depth.

    python benchmarks/stability.py --quick        # a couple of minutes
    python benchmarks/stability.py                # the full sweep (~20 minutes on 2 CPU cores)

Two sweeps, each on the same batches for every initialization:
1. learning rate (5 values over 2 decades) x warm-up (none / --warmup steps), at --lr_depth layers;
2. depth (up to 48 layers) at --depth_lr, without warm-up (the harder case), for GPT-2 and post-LN BERT.
A run *diverges* if a loss becomes non-finite, and *stalls* if its final validation loss is not below
(1 - --stall_margin) x the frequency baseline: the loss of predicting every target by its training-set frequency
(common.frequency_baseline), i.e. it learned nothing from the context (BERT's unigram plateau is a stall). Writes results/stability.json and results/stability_<sweep>.png (heat maps
of final validation loss; D = diverged, S = stalled).
"""

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import torch
from common import (
    FAMILIES,
    Batches,
    RunSettings,
    build,
    frequency_baseline,
    is_image,
    load_images,
    load_text,
    train_run,
)

RESULTS = Path(__file__).parent / "results"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--methods", nargs="+", default=["default", "idinit", "zero-branch-out"])
    parser.add_argument("--lrs", nargs="+", type=float, default=[3e-4, 1e-3, 3e-3, 1e-2, 3e-2])
    parser.add_argument("--lr_depth", type=int, default=8)
    parser.add_argument("--depths", nargs="+", type=int, default=[2, 8, 16, 32, 48])
    parser.add_argument("--depth_lr", type=float, default=3e-3)
    parser.add_argument("--depth_families", nargs="+", default=["gpt2", "bert"], choices=FAMILIES)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stall_margin", type=float, default=0.02,
                        help="stalled: final validation loss >= (1 - margin) x the frequency baseline")
    parser.add_argument("--text_dir", default=None)
    parser.add_argument("--image_dir", default=None)
    parser.add_argument("--quick", action="store_true", help="3 learning rates, depths 2 and 8, 40 steps")
    parser.add_argument("--output_dir", default=str(RESULTS), help="where the JSON and PNG files go")
    parser.add_argument("--sweeps", nargs="+", default=["lr", "depth"], choices=["lr", "depth"],
                        help="which sweeps to run; the other one's results in stability.json are kept")
    parser.add_argument("--update", action="store_true",
                        help="add these runs to stability.json: a run replaces the same (family, method, depth, lr, "
                             "warm-up); earlier runs are kept, their status re-judged by the current criterion")
    args = parser.parse_args()
    if args.quick:
        args.lrs, args.depths, args.steps, args.warmup, args.lr_depth = [1e-3, 1e-2, 3e-2], [2, 8], 40, 10, 4
    if not 0 <= args.stall_margin < 1:
        parser.error(f"--stall_margin must be in [0, 1); got {args.stall_margin}")
    return args


def one_run(family, method, depth, lr, warmup, args, splits):
    settings = RunSettings(steps=args.steps, eval_every=args.steps, eval_batches=4, width=args.width, lr=lr,
                           warmup=warmup)
    model = build(family, method, depth, args.width, settings.block_size, splits.image_size, args.seed)
    batch_size = 4 * settings.batch_size if is_image(family) else settings.batch_size
    batches = Batches(splits, family, batch_size, settings.block_size, args.seed)
    run = train_run(model, batches, settings)
    first, last = run["curve"][0][1], run["curve"][-1][1]
    baseline = frequency_baseline(splits, family, batches.evaluation("validation", settings.eval_batches))
    status = "diverged" if run["diverged"] else "stalled" if last >= (1 - args.stall_margin) * baseline else "ok"
    print(f"{family:4} {method:16} L={depth:<3} lr={lr:<7g} warmup={warmup:<3} {status:8} val {last:.4f}", flush=True)
    return {"family": family, "method": method, "depth": depth, "lr": lr, "warmup": warmup, "status": status,
            "initial_loss": first, "final_loss": last if not run["diverged"] else None, "frequency_baseline": baseline}


def row_key(row: dict) -> tuple:
    return row["family"], row["method"], row["depth"], row["lr"], row["warmup"]


def merge(earlier: list[dict], new: list[dict], args) -> list[dict]:
    """``new`` plus the ``earlier`` runs it does not repeat, whose status is judged again by the current stall
    criterion (their final losses are kept; the baseline is a property of the family's validation batches)."""
    repeated = {row_key(r) for r in new}
    kept = [dict(r) for r in earlier if row_key(r) not in repeated]
    baselines = {}
    for row in kept:
        family = row["family"]
        if family not in baselines:
            splits = load_images(args.image_dir) if is_image(family) else load_text(args.text_dir)
            batch_size = 4 * RunSettings.batch_size if is_image(family) else RunSettings.batch_size
            evaluation = Batches(splits, family, batch_size, RunSettings.block_size, args.seed).evaluation("validation", 4)
            baselines[family] = frequency_baseline(splits, family, evaluation)
        row["frequency_baseline"] = baselines[family]
        if row["status"] != "diverged":
            stalled = row["final_loss"] >= (1 - args.stall_margin) * baselines[family]
            row["status"] = "stalled" if stalled else "ok"
    return kept + new


def heatmap(rows, sweep, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = sorted({r["family"] for r in rows})
    fig, axes = plt.subplots(1, len(families), figsize=(6 * len(families), 3.6), squeeze=False)
    for axis, family in zip(axes[0], families, strict=True):
        mine = [r for r in rows if r["family"] == family]
        columns = sorted({r["lr"] if sweep == "lr" else r["depth"] for r in mine})
        labels = sorted({(r["method"], r["warmup"]) for r in mine}, key=lambda k: (k[0], k[1]))
        grid = torch.full((len(labels), len(columns)), float("nan"))
        for r in mine:
            i = labels.index((r["method"], r["warmup"]))
            j = columns.index(r["lr"] if sweep == "lr" else r["depth"])
            grid[i, j] = r["final_loss"] if r["final_loss"] is not None else float("nan")
            mark = {"diverged": "D", "stalled": "S", "ok": ""}[r["status"]]
            text = mark or f"{r['final_loss']:.2f}"
            axis.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if mark else "black")
        axis.imshow(grid.numpy(), cmap="viridis_r", aspect="auto")
        axis.set_xticks(range(len(columns)), [f"{c:g}" for c in columns])
        axis.set_yticks(range(len(labels)), [f"{m}, warm-up {w}" for m, w in labels], fontsize=7)
        axis.set_xlabel("learning rate" if sweep == "lr" else "layers")
        axis.set_title(f"{family}: final validation loss")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    args = parse_args()
    families = (args.families if "lr" in args.sweeps else []) + (args.depth_families if "depth" in args.sweeps else [])
    text = load_text(args.text_dir) if any(not is_image(f) for f in families) else None
    images = load_images(args.image_dir) if any(is_image(f) for f in families) else None
    rows = {}
    if "lr" in args.sweeps:
        rows["lr"] = [one_run(family, method, args.lr_depth, lr, warmup, args, images if is_image(family) else text)
                      for family in args.families for method in args.methods
                      for warmup in (0, args.warmup) for lr in args.lrs]
    if "depth" in args.sweeps:
        rows["depth"] = [one_run(family, method, depth, args.depth_lr, 0, args, images if is_image(family) else text)
                         for family in args.depth_families for method in args.methods for depth in args.depths]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    meta = {"machine": f"{platform.machine()}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}",
            "commit": commit, "settings": vars(args),
            "command": "python benchmarks/stability.py " + " ".join(sys.argv[1:])}
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    # read what is there only now, at the end: a second invocation running the other sweep may have finished
    path = output / "stability.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    result = {"notes": saved["notes"]} if "notes" in saved else {}  # relabel.py's record of renamed methods stays
    for sweep in ("lr", "depth"):
        earlier, earlier_meta = saved.get(f"{sweep}_sweep", []), saved.get(f"{sweep}_meta", saved.get("meta"))
        if sweep in rows:
            if args.update and earlier:
                rows[sweep] = merge(earlier, rows[sweep], args)
                meta = {**meta, "earlier": [earlier_meta.get("command", "stability.py")] + earlier_meta.get("earlier", [])}
            result[f"{sweep}_sweep"], result[f"{sweep}_meta"] = rows[sweep], meta
            heatmap(rows[sweep], sweep, output / f"stability_{sweep}.png")
        elif earlier:
            result[f"{sweep}_sweep"], result[f"{sweep}_meta"] = earlier, earlier_meta
    partial = output / "stability.json.partial"
    partial.write_text(json.dumps(result, indent=1))
    partial.replace(path)
    for sweep, name in (("lr", "learning-rate sweep"), ("depth", "depth sweep")):
        bad = [r for r in rows.get(sweep, []) if r["status"] != "ok"]
        if sweep in rows:
            print(f"\n{name}: {len(rows[sweep])} runs, {len(bad)} diverged or stalled")
        for r in bad:
            print(f"  {r['family']} {r['method']} L={r['depth']} lr={r['lr']:g} warmup={r['warmup']}: {r['status']}")


if __name__ == "__main__":
    main()
