"""Convergence: IDInit against the default init and the practitioners' inits, side by side, on real data.

    python benchmarks/convergence.py --quick                      # one seed, 30 steps, every method and family
    python benchmarks/convergence.py                              # the full run (hours on 2 CPU cores; resumable)
    python benchmarks/convergence.py --text_dir ../shared/data/text/sotu --image_dir ../shared/data/images/fashion-mnist
    python benchmarks/convergence.py --width 512 --steps 5000 ...  # GPU-sized, same script

For each family (GPT-2 and Llama causal LM, BERT masked LM, ViT classification), each depth and each seed, every
method trains from the same seed on the same batches in the same order, with AdamW, warm-up + cosine and clipping.
At the shallow depth every method runs (IDInit's open variants included); at the deeper ones the core methods
(default, IDInit and every practitioner's init of baselines.py; --deep_methods). Reports, per (family, depth,
method): final validation loss/accuracy (mean ± std over seeds), final held-out test loss, and steps-to-target:
the first evaluated step at which the method reaches the default init's final validation loss *of the same seed*,
as a ratio to the default's number of steps. Writes results/convergence.json, results/convergence_<family>.png.

Resumable (runs.py): each run is added to results/convergence.json as soon as it ends, with its machine and wall
time, and a rerun skips every run the file already holds (same family, data, depth, seed, method and settings),
so an interrupted command is continued by running it again; --redo measures them again. --merge adds the runs of
other result files (e.g. one per machine or per family) without training. Every run records its own data and
settings; a (family, data, depth) group only ever holds runs of one setting, so a newer setting replaces the
older group as a whole, and every comparison (steps-to-target, mean ± std) is made within one group.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from common import (
    CORE_METHODS,
    FAMILIES,
    METHODS,
    RunSettings,
    is_image,
    load_images,
    load_text,
    method_name,
    method_order,
    method_spec,
    steps_to_target,
)
from runs import measure, planned, read_json, run_key, session, write_json

RESULTS = Path(__file__).parent / "results"
#: --quick: what it changes unless a flag says otherwise (one seed, a few dozen steps, every core method and family)
QUICK = dict(depths=[2], seeds=[0], steps=30, eval_every=10, eval_batches=2, warmup=5, methods=list(CORE_METHODS))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--depths", nargs="+", type=int, default=[4, 16])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=None, type=method_name,
                        help="methods at the shallowest depth (default: all); deeper depths run the core methods")
    parser.add_argument("--deep_methods", nargs="+", default=list(CORE_METHODS), type=method_name,
                        help="methods at the deeper depths")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--eval_every", type=int, default=25)
    parser.add_argument("--eval_batches", type=int, default=8)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--block_size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--text_dir", default=None, help="folder of *.txt files (default: CPython's pydoc_data)")
    parser.add_argument("--image_dir", default=None, help="Fashion-MNIST IDX folder (default: sklearn digits)")
    parser.add_argument("--quick", action="store_true",
                        help=f"defaults for a smoke run: {', '.join(f'{k}={v}' for k, v in QUICK.items() if k != 'methods')}, "
                             "the core methods (every family unless --families); other flags still apply")
    parser.add_argument("--output_dir", default=str(RESULTS), help="where the JSON and PNG files go")
    parser.add_argument("--redo", action="store_true",
                        help="measure again the runs the results file already holds (default: skip them)")
    parser.add_argument("--update", action="store_true",
                        help="(kept for older commands: runs are always added to the existing results)")
    parser.add_argument("--merge", nargs="+", metavar="JSON", default=None,
                        help="train nothing: merge the runs of these convergence.json files into --output_dir's")
    argv = sys.argv[1:] if argv is None else argv
    if "--quick" in argv:
        parser.set_defaults(**QUICK)
    args = parser.parse_args(argv)
    args.command = "python benchmarks/convergence.py " + " ".join(argv)
    for name, value in (("--steps", args.steps), ("--eval_every", args.eval_every), ("--width", args.width)):
        if value <= 0:
            parser.error(f"{name} must be > 0; got {value}")
    if args.width % 16:
        parser.error(f"--width must be a multiple of 16 (heads of size 16); got {args.width}")
    for path in args.merge or []:
        if not Path(path).is_file():
            parser.error(f"--merge {path}: no such file")
    return args


def methods_for(family, depth, args):
    """The methods to run on ``family`` at ``depth``: those asked for that apply to it; the others are named on
    stderr (a practitioner's init written for one stack of transformer blocks does not apply to T5, baselines.py)."""
    shallow = depth == min(args.depths)
    names = (args.methods or list(METHODS)) if shallow else args.deep_methods
    applies = [m for m in names if family in method_spec(m)[2]]
    left_out = [m for m in names if m not in applies]
    if left_out and (args.methods or not shallow):  # asked for by name, not the full list's inapplicable ones
        print(f"{family}, {depth} layers: not run, does not apply to {family}: {', '.join(left_out)}", file=sys.stderr)
    return applies


def group_key(run: dict) -> tuple:
    """The runs that are compared with each other: same family, data and depth (and so the same settings)."""
    return run["family"], run["data"], run["depth"]


def summarize(runs):
    """Per (family, data, depth, method): mean ± std of final losses and steps-to-target ratios over seeds."""
    table = []
    keys = sorted({(*group_key(r), r["method"]) for r in runs},
                  key=lambda k: (k[0], k[1], k[2], method_order(k[3])))
    for family, data, depth, method in keys:
        group = [r for r in runs if (*group_key(r), r["method"]) == (family, data, depth, method)]
        ratios = []
        for run in group:
            default = next((r for r in runs if group_key(r) == group_key(run) and r["method"] == "default"
                            and r["seed"] == run["seed"]), None)
            if default is None:  # no default run of this seed to compare with
                ratios.append(None)
                continue
            target, default_steps = default["curve"][-1][1], default["curve"][-1][0]
            reached = steps_to_target(run["curve"], target)
            ratios.append(reached / default_steps if reached is not None else None)
        finals = [r["curve"][-1][1] for r in group]
        accs = [r["curve"][-1][2] for r in group]
        tests = [r["test_loss"] for r in group]
        reached = [x for x in ratios if x is not None]
        table.append({
            "family": family, "data": data, "depth": depth, "method": method, "seeds": len(group),
            "settings": group[0]["settings"],
            "val_loss": statistics.mean(finals), "val_loss_std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
            "val_acc": statistics.mean(accs), "test_loss": statistics.mean(tests),
            "test_loss_std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
            "test_acc": statistics.mean(r.get("test_acc", float("nan")) for r in group),
            "steps_ratio": statistics.mean(reached) if len(reached) == len(ratios) else None,
            "steps_ratio_max": max(reached) if len(reached) == len(ratios) else None,
            "reached_in": f"{len(reached)}/{len(ratios)}",
            "diverged": sum(r["diverged"] for r in group),
        })
    return table


def plot(runs, family, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datas = sorted({r["data"] for r in runs if r["family"] == family})
    depths = sorted({r["depth"] for r in runs if r["family"] == family})
    # one row per dataset, one column per depth
    fig, axes = plt.subplots(len(datas), len(depths), figsize=(6 * len(depths), 4.2 * len(datas)), squeeze=False)
    for (i, data), (j, depth) in ((a, b) for a in enumerate(datas) for b in enumerate(depths)):
        axis = axes[i][j]
        # the head to head only (default, IDInit, the practitioners' inits): variants and probes are in the JSON and
        # the table, and with tens of them the legend covered the curves
        present = {r["method"] for r in runs
                   if (r["family"], r["data"], r["depth"]) == (family, data, depth) and r["method"] in CORE_METHODS}
        if not present:
            axis.set_visible(False)  # a depth measured on another dataset only
            continue
        for method in sorted(present, key=method_order):
            group = [r for r in runs if (r["family"], r["data"], r["depth"], r["method"]) == (family, data, depth, method)]
            if not group:
                continue
            steps = [p[0] for p in group[0]["curve"]]
            losses = [statistics.mean(r["curve"][k][1] for r in group) for k in range(len(steps))]
            style = {"default": "k-", "idinit": "C3-"}.get(method, "--")
            axis.plot(steps[1:], losses[1:], style, label=method, linewidth=2 if method in ("default", "idinit") else 1)
        axis.set_title(f"{family}, {depth} layers, {data}", fontsize=8)
        axis.set_xlabel("step")
        axis.set_ylabel("validation loss (mean over seeds)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    if any(axis.get_visible() for row in axes for axis in row):
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    # else a file of variants and probes only (no head-to-head method to draw): no empty picture, they are in the table
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output_dir)
    if args.merge:  # no training: fold other result files into this one
        runs = load_runs(output / "convergence.json")
        for path in args.merge:
            runs = merge(runs, load_runs(Path(path)))
        sessions = [s for path in [output / "convergence.json", *map(Path, args.merge)] for s in load_sessions(path)]
        write(output, runs, sessions)
        print(format_table(summarize(runs)))
        return
    torch.set_num_threads(max(1, torch.get_num_threads()))
    settings = RunSettings(steps=args.steps, eval_every=args.eval_every, eval_batches=args.eval_batches,
                           batch_size=args.batch_size, block_size=args.block_size, width=args.width, lr=args.lr,
                           warmup=args.warmup)
    text = load_text(args.text_dir) if any(not is_image(f) for f in args.families) else None
    images = load_images(args.image_dir) if any(is_image(f) for f in args.families) else None
    runs = load_runs(output / "convergence.json")
    sessions = load_sessions(output / "convergence.json")
    command = args.command
    started, skipped, measured = time.time(), 0, 0
    for family in args.families:
        splits = images if is_image(family) else text
        for depth in args.depths:
            methods = methods_for(family, depth, args)
            for seed in args.seeds:
                for method in methods:
                    finished = {run_key(r) for r in runs}
                    if not args.redo and run_key(planned(family, method, depth, seed, splits, settings)) in finished:
                        skipped += 1
                        continue
                    run = measure(family, method, depth, seed, splits, settings)
                    print(f"{family:5} L={depth:<3} seed={seed} {method:32} val {run['curve'][-1][1]:.4f} "
                          f"acc {run['curve'][-1][2]:.3f} test {run['test_loss']:.4f} ({run['wall_seconds']:.0f}s)",
                          flush=True)
                    runs, measured = merge(runs, [run]), measured + 1
                    # the run is in the file as soon as it ends: a stopped benchmark keeps it, a rerun skips it
                    save(output, runs, [*sessions, session(command, started, complete=False, families=args.families)])
    done = session(command, started, complete=True, families=args.families)
    if measured:  # record the session, redraw the plots
        write(output, runs, [*sessions, done])
    print(f"\n{done['machine']}; commit {done['commit']}; {done['minutes']:.1f} min; {measured} runs measured, "
          f"{skipped} finished ones skipped")
    print(format_table(summarize(runs)))


def merge(runs: list[dict], new: list[dict]) -> list[dict]:
    """``runs`` with ``new`` added: a new run replaces the same (family, data, depth, method, seed), and a group
    measured with other settings than the new runs is dropped whole (its comparisons would mix settings)."""
    settings = {group_key(r): r["settings"] for r in new}
    replaced = {(*group_key(r), r["method"], r["seed"]) for r in new}
    kept = [r for r in runs if settings.get(group_key(r), r["settings"]) == r["settings"]
            and (*group_key(r), r["method"], r["seed"]) not in replaced]
    return kept + list(new)


def load_runs(path: Path) -> list[dict]:
    """The runs of a convergence.json (none if it does not exist); each carries its own data and settings."""
    data = read_json(path)
    return data["runs"] if data else []


def load_sessions(path: Path) -> list[dict]:
    """Where, when and with which command each earlier invocation ran."""
    data = read_json(path)
    return data["meta"]["sessions"] if data else []


def save(output: Path, runs: list[dict], sessions: list[dict]) -> None:
    """Write convergence.json atomically (runs.write_json): a stopped benchmark never leaves a half-written file."""
    meta = {"sessions": sessions, "complete": all(s.get("complete", True) for s in sessions)}
    write_json(output / "convergence.json", {"meta": meta, "table": summarize(runs), "runs": runs})


def write(output: Path, runs: list[dict], sessions: list[dict]) -> None:
    """Write the JSON and redraw the plots."""
    save(output, runs, sessions)
    for family in sorted({r["family"] for r in runs}):
        plot(runs, family, output / f"convergence_{family}.png")


def format_table(table):
    rows = ["| family | data | layers | method | val loss (mean ± std) | test loss | val acc | steps to default's final loss | diverged |",
            "|---|---|---|---|---|---|---|---|---|"]
    for row in table:
        ratio = (f"not reached by every seed ({row['reached_in']})" if row["steps_ratio"] is None
                 else f"{row['steps_ratio']:.2f} (max {row['steps_ratio_max']:.2f})")
        rows.append(f"| {row['family']} | {row['data']} | {row['depth']} | {row['method']} | {row['val_loss']:.4f} ± {row['val_loss_std']:.4f} | "
                    f"{row['test_loss']:.4f} | {row['val_acc']:.3f} | {ratio} | {row['diverged']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
