"""Longer budgets and wider models (issue 19): does IDInit's step saving survive a real training length and width?

    python benchmarks/budget.py --quick                                   # a smoke run (tiny models, seconds)
    python benchmarks/budget.py --text_dir ../shared/data/text/sotu       # the issue's two axes (CPU-hours)
    python benchmarks/budget.py --text_dir ../shared/data/text/sotu --budgets 300 --widths \\
        --methods default idinit zero-branch-out depth-scaled neox depth-init mimetic olmo2   # every baseline, 1×

Two axes through one base point (--depth 8 layers, --base_width 128, --base_steps 1000):

* budget axis: every --budgets value (default 300 / 1000 / 3000 steps: 1×, 3×, 10× the standard budget) at the
  base width;
* width axis: every --widths value (64 / 128 / 256) at the base budget.

Every run is one :func:`common.train_run` (runs.measure): AdamW, --warmup steps then cosine to the end of its own
budget, clipping, evaluated --evals times over its budget; every method of a (family, width, budget, seed) trains
on the same batches. Resumable like convergence.py: each run is added to results/budget.json as it ends (with its
machine and wall time), and a rerun skips the runs already there; processes run side by side write to their own
--output_dir, and ``--merge`` folds their files into one.

IDInit's **step saving** against a method X, per seed, is signed so that it is defined whichever ends lower:

* IDInit ends at or below X's final validation loss: 1 − (IDInit's first evaluated step at or below X's final
  loss) / X's steps (0.3 = IDInit needs 70% of the steps);
* X ends lower: −(1 − X's first step at or below IDInit's final loss / IDInit's steps) (−0.3 = X needs 70%).

Against the default init and against the best practitioner's init of each point (lowest mean final validation
loss among the baselines run there). Along each axis the saving **holds** (first and last point within 0.05),
**grows**, **fades**, or **reverses** (from ≥ 0 to < 0). Writes results/budget.json, results/budget_axis.png and
results/width_axis.png; benchmarks/report.py turns them into the README's lines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from baselines import BASELINES
from common import (
    FAMILIES,
    RunSettings,
    is_image,
    load_images,
    load_text,
    method_name,
    method_spec,
    steps_to_target,
)
from runs import measure, planned, read_json, run_key, session, write_json

RESULTS = Path(__file__).parent / "results"
QUICK = dict(families=["gpt2"], depth=2, base_width=32, base_steps=20, budgets=[20, 40], widths=[16, 32], seeds=[0],
             evals=4, eval_batches=1, block_size=32, warmup=2)
TREND_MARGIN = 0.05  # a change of the step saving smaller than this along an axis "holds"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["gpt2", "llama"], choices=FAMILIES)
    parser.add_argument("--methods", nargs="+", type=method_name, default=["default", "idinit", "neox"],
                        help="default and idinit, and the baselines to compare with (baselines.py)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--base_width", type=int, default=128)
    parser.add_argument("--base_steps", type=int, default=1000)
    parser.add_argument("--budgets", nargs="*", type=int, default=[300, 1000, 3000],
                        help="steps, at --base_width (none: no budget axis)")
    parser.add_argument("--widths", nargs="*", type=int, default=[64, 128, 256],
                        help="at --base_steps (none: no width axis)")
    parser.add_argument("--evals", type=int, default=30, help="evaluations per run (every steps/evals steps)")
    parser.add_argument("--eval_batches", type=int, default=8)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--block_size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--text_dir", default=None, help="folder of *.txt files (default: CPython's pydoc_data)")
    parser.add_argument("--image_dir", default=None, help="Fashion-MNIST IDX folder (default: sklearn digits)")
    parser.add_argument("--quick", action="store_true",
                        help=f"defaults for a smoke run: {', '.join(f'{k}={v}' for k, v in QUICK.items())}")
    parser.add_argument("--output_dir", default=str(RESULTS), help="where budget.json and the plots go")
    parser.add_argument("--redo", action="store_true", help="measure again the runs budget.json already holds")
    parser.add_argument("--merge", nargs="+", metavar="JSON", default=None,
                        help="train nothing: add the runs of these budget.json files (finished processes' runs, "
                             "with the same base point) to --output_dir's, where no process is writing; of a run "
                             "measured twice the one finished last is kept")
    argv = sys.argv[1:] if argv is None else argv
    if "--quick" in argv:
        parser.set_defaults(**QUICK)
    args = parser.parse_args(argv)
    for name in ("depth", "base_width", "base_steps", "evals"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be > 0; got {getattr(args, name)}")
    for width in (args.base_width, *args.widths):
        if width <= 0 or width % 16:
            parser.error(f"widths must be positive multiples of 16 (heads of size 16); got {width}")
    if any(steps <= 0 for steps in args.budgets):
        parser.error(f"--budgets must be > 0; got {args.budgets}")
    for path in args.merge or []:
        if not Path(path).is_file():
            parser.error(f"--merge {path}: no such file")
    return args


def points(args) -> list[tuple[int, int]]:
    """(width, steps) of every run: the budget axis at the base width, then the width axis at the base budget."""
    axis = [(args.base_width, steps) for steps in sorted(args.budgets)]
    axis += [(width, args.base_steps) for width in sorted(args.widths)]
    return list(dict.fromkeys(axis))


def settings_at(args, width: int, steps: int) -> RunSettings:
    return RunSettings(steps=steps, eval_every=max(1, steps // args.evals), eval_batches=args.eval_batches,
                       batch_size=args.batch_size, block_size=args.block_size, width=width, lr=args.lr,
                       warmup=args.warmup)


# ---- analysis --------------------------------------------------------------------------------------------------------


def group_key(run: dict) -> tuple:
    """The runs compared with each other: same family, data, depth, width and budget."""
    return run["family"], run["data"], run["depth"], run["settings"]["width"], run["settings"]["steps"]


def final(run: dict) -> float:
    return run["curve"][-1][1]


def signed_saving(run: dict, reference: dict) -> float:
    """``run``'s step saving against ``reference`` (module docstring): positive when ``run`` reaches the
    reference's final validation loss early, negative when the reference reaches ``run``'s final loss early."""
    reached = steps_to_target(run["curve"], final(reference))
    if reached is not None:
        return 1 - reached / reference["curve"][-1][0]
    back = steps_to_target(reference["curve"], final(run))
    return -(1 - back / run["curve"][-1][0])


def best_baseline(group: list[dict]) -> str | None:
    """The practitioner's init with the lowest mean final validation loss in ``group`` (None if none ran)."""
    means = {m: statistics.mean(final(r) for r in group if r["method"] == m)
             for m in {r["method"] for r in group} if m in BASELINES}
    return min(means, key=means.get) if means else None


def savings(runs: list[dict]) -> list[dict]:
    """Per group and comparator (the default, the best baseline): IDInit's step saving on each seed both ran to
    the end (a diverged run has no final loss to compare: its seed is left out, and counted)."""
    rows = []
    for key in sorted({group_key(r) for r in runs}):
        group = [r for r in runs if group_key(r) == key]
        by = {(r["method"], r["seed"]): r for r in group if not r["diverged"]}
        for role, against in (("default", "default"), ("best baseline", best_baseline(list(by.values())))):
            seeds = sorted(s for m, s in by if m == "idinit" and (against, s) in by)
            if against is None or not seeds:
                continue
            values = [signed_saving(by["idinit", s], by[against, s]) for s in seeds]
            rows.append({
                "family": key[0], "data": key[1], "depth": key[2], "width": key[3], "steps": key[4],
                "comparator": role, "against": against, "seeds": seeds, "savings": values,
                "saving": statistics.mean(values), "idinit_val": statistics.mean(final(by["idinit", s]) for s in seeds),
                "against_val": statistics.mean(final(by[against, s]) for s in seeds),
                "diverged": sum(r["diverged"] for r in group if r["method"] in ("idinit", against)),
            })
    return rows


def axes(rows: list[dict], base_width: int, base_steps: int) -> dict[str, list[dict]]:
    """The rows on the budget axis (at ``base_width``) and on the width axis (at ``base_steps``)."""
    return {"budget": sorted((r for r in rows if r["width"] == base_width), key=lambda r: r["steps"]),
            "width": sorted((r for r in rows if r["steps"] == base_steps), key=lambda r: r["width"])}


def trend(values: list[float]) -> str:
    """How the saving moves from the first point of an axis to the last."""
    first, last = values[0], values[-1]
    if first >= 0 > last:
        return "reverses"
    if last > first + TREND_MARGIN:
        return "grows"
    if last < first - TREND_MARGIN:
        return "fades"
    return "holds"


def base_point(meta: dict) -> tuple[int, int]:
    return meta["base_width"], meta["base_steps"]


def summary_lines(rows: list[dict], base_width: int, base_steps: int) -> list[str]:
    """One line per (family, data, axis, comparator): the savings along the axis and whether they hold, grow,
    fade or reverse."""
    lines = []
    on = axes(rows, base_width, base_steps)
    for axis, unit in (("budget", "steps"), ("width", "width")):
        order = ("default", "best baseline")
        for family, data, comparator in sorted({(r["family"], r["data"], r["comparator"]) for r in on[axis]},
                                               key=lambda k: (k[0], k[1], order.index(k[2]))):
            line = [r for r in on[axis] if (r["family"], r["data"], r["comparator"]) == (family, data, comparator)]
            if len(line) < 2:
                continue
            xs = " / ".join(str(r[unit]) for r in line)
            where = f"at {xs} steps (width {base_width}" if axis == "budget" else f"at width {xs} ({base_steps} steps"
            values = " → ".join(f"{r['saving']:+.2f}" for r in line)
            against = "the default" if comparator == "default" else \
                "the best baseline (" + ", ".join(dict.fromkeys(r["against"] for r in line)) + ")"
            seeds = min(len(r["seeds"]) for r in line)
            lines.append(f"- {family} ({data}), {line[0]['depth']} layers, {where}, ≥ {seeds} seeds): IDInit's step "
                         f"saving against {against} {values}: **{trend([r['saving'] for r in line])}**.")
    return lines


def where_idinit_loses(rows: list[dict]) -> list[str]:
    """The points of either axis where IDInit ends above the method it is compared with (mean final validation
    loss over the seeds both ran), or where that method reaches IDInit's final loss first on some seed: said
    plainly, with how much."""
    lines = []
    for r in rows:
        behind = [s for s, x in zip(r["seeds"], r["savings"], strict=True) if x < 0]
        if r["idinit_val"] <= r["against_val"] and not behind:
            continue
        where = (f"- {r['family']} ({r['data']}), {r['depth']} layers, width {r['width']}, {r['steps']} steps "
                 f"({len(r['seeds'])} seed{'s' if len(r['seeds']) > 1 else ''}): ")
        if r["idinit_val"] > r["against_val"]:
            what = (f"final validation loss {r['idinit_val']:.3f}, above {r['against']} ({r['against_val']:.3f}, by "
                    f"{r['idinit_val'] - r['against_val']:.3f})")
        else:
            what = f"final validation loss {r['idinit_val']:.3f}, below {r['against']} ({r['against_val']:.3f}) on the mean"
        if behind:
            what += (f"; {r['against']} reaches IDInit's final loss first on seed{'s' if len(behind) > 1 else ''} "
                     f"{', '.join(map(str, behind))} (saving {', '.join(f'{x:+.2f}' for x in r['savings'] if x < 0)})")
        lines.append(where + what + ".")
    return lines


def plot(rows: list[dict], base_width: int, base_steps: int, output: Path) -> list[Path]:
    """budget_axis.png and width_axis.png: IDInit's step saving (each seed, and the mean) along each axis, one
    panel per (family, data), against the default and against the best baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for axis, (unit, label) in {"budget": ("steps", "training steps (cosine to the end of each budget)"),
                                "width": ("width", "width")}.items():
        line_rows = axes(rows, base_width, base_steps)[axis]
        panels = sorted({(r["family"], r["data"]) for r in line_rows})
        if not panels:
            continue
        fig, grid = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
        for axis_plot, (family, data) in zip(grid[0], panels, strict=True):
            for comparator, style in (("default", "k"), ("best baseline", "C3")):
                mine = [r for r in line_rows if (r["family"], r["data"], r["comparator"]) == (family, data, comparator)]
                if not mine:
                    continue
                xs = [r[unit] for r in mine]
                names = ", ".join(dict.fromkeys(r["against"] for r in mine))
                axis_plot.plot(xs, [r["saving"] for r in mine], f"{style}o-",
                               label=f"vs {comparator}" + (f" ({names})" if comparator != "default" else ""))
                for r in mine:
                    axis_plot.plot([r[unit]] * len(r["savings"]), r["savings"], f"{style}.", alpha=0.4)
            axis_plot.axhline(0, color="grey", linewidth=0.8)
            axis_plot.set_xscale("log", base=2 if axis == "width" else 10)
            axis_plot.set_xticks(sorted({r[unit] for r in line_rows}))
            axis_plot.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            axis_plot.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
            axis_plot.set_xlabel(label)
            axis_plot.set_ylabel("IDInit's step saving (> 0: IDInit faster)")
            axis_plot.set_title(f"{family}, {data}", fontsize=8)
            axis_plot.grid(alpha=0.3)
            axis_plot.legend(fontsize=7)
        fig.tight_layout()
        path = output / f"{axis}_axis.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


# ---- the runs ----------------------------------------------------------------------------------------------------------


def save(output: Path, runs: list[dict], meta: dict) -> None:
    rows = savings(runs)
    write_json(output / "budget.json", {"meta": meta, "savings": rows, "runs": runs})


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    output = Path(args.output_dir)
    earlier = read_json(output / "budget.json") or {"meta": {"sessions": []}, "runs": []}
    runs, sessions = earlier["runs"], earlier["meta"]["sessions"]
    meta = {"base_width": args.base_width, "base_steps": args.base_steps, "sessions": sessions}
    if earlier["runs"] and base_point(earlier["meta"]) != base_point(meta):
        raise SystemExit(f"{output / 'budget.json'} holds axes through width {earlier['meta']['base_width']}, "
                         f"{earlier['meta']['base_steps']} steps; use another --output_dir for another base point")
    if args.merge:  # no training: fold other processes' result files into this one
        for path in args.merge:
            other = read_json(Path(path))
            if not runs:  # an empty folder takes the base point of the first file merged into it
                meta = {**meta, "base_width": other["meta"]["base_width"], "base_steps": other["meta"]["base_steps"]}
            if other["runs"] and base_point(other["meta"]) != base_point(meta):
                raise SystemExit(f"{path} holds axes through another base point than {output / 'budget.json'}")
            newest = {}
            for run in runs + other["runs"]:  # ISO times in one zone: the later string is the later run
                kept = newest.get(run_key(run))
                if kept is None or run.get("finished", "") > kept.get("finished", ""):
                    newest[run_key(run)] = run
            runs = list(newest.values())
            sessions = sessions + [s for s in other["meta"]["sessions"] if s not in sessions]
        save(output, runs, {**meta, "sessions": sessions})
        plot(savings(runs), *base_point(meta), output)
        print("\n".join(summary_lines(savings(runs), *base_point(meta))))
        return
    text = load_text(args.text_dir) if any(not is_image(f) for f in args.families) else None
    images = load_images(args.image_dir) if any(is_image(f) for f in args.families) else None
    command = "python benchmarks/budget.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started, skipped, measured = time.time(), 0, 0
    for width, steps in points(args):
        settings = settings_at(args, width, steps)
        for seed in args.seeds:
            for family in args.families:
                splits = images if is_image(family) else text
                # a practitioner's init runs on the families it is written for (zero-γ: not GPT-2 nor Llama)
                for method in (m for m in args.methods if family in method_spec(m)[2]):
                    finished = {run_key(r) for r in runs}
                    key = run_key(planned(family, method, args.depth, seed, splits, settings))
                    if key in finished and not args.redo:
                        skipped += 1
                        continue
                    run = measure(family, method, args.depth, seed, splits, settings)
                    runs, measured = [r for r in runs if run_key(r) != key] + [run], measured + 1
                    print(f"{family:5} width={width:<4} steps={steps:<5} seed={seed} {method:16} val "
                          f"{final(run):.4f} test {run['test_loss']:.4f} ({run['wall_seconds']:.0f}s)", flush=True)
                    save(output, runs, {**meta, "sessions": [*sessions, session(command, started, complete=False)]})
    done = session(command, started, complete=True)
    if measured:  # record the session, redraw the plots
        save(output, runs, {**meta, "sessions": [*sessions, done]})
        plot(savings(runs), args.base_width, args.base_steps, output)
    print(f"\n{done['machine']}; commit {done['commit']}; {done['minutes']:.1f} min; {measured} runs measured, "
          f"{skipped} finished ones skipped")
    print("\n".join(summary_lines(savings(runs), args.base_width, args.base_steps)))


if __name__ == "__main__":
    main()
