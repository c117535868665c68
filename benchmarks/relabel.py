"""Relabel saved runs after a family's IDInit defaults changed, so every method name means today's weights.

    python benchmarks/relabel.py --family gpt2 --old query_scale=1 --new query_scale=0 \
        benchmarks/results/convergence.json benchmarks/results/stability.json benchmarks/results/budget.json

A run's method ``idinit:k=v,...`` was measured with the family's defaults of the time (``--old``) plus its own
options. Its effective options are therefore ``old ∪ own``; its new name lists only the options that differ from
the new defaults (``--new``, what ``Family.option_defaults`` says now): ``idinit`` measured with Q = I becomes
``idinit:query_scale=1``, and ``idinit:query_scale=0`` becomes ``idinit``. Other methods (``default``, baselines)
keep their names. Each file gets a note saying what was relabelled (convergence: a note in ``meta.sessions``;
stability: ``notes``; budget: a note in ``meta.sessions``, and the step savings recomputed). Writes the files in place,
atomically. Name in ``--old`` every family default that differs from the option table's (e.g. GPT-2's Q = 0), so
that a run's own value equal to the table's default (``query_scale=1``) is still named.

    python benchmarks/relabel.py --data_paths benchmarks/results/convergence.json benchmarks/results/budget.json

renames the data of runs labelled with the path they were read from (``Fashion-MNIST from ../shared/...``,
``../shared/data/text/sotu (233 files), ...``) to today's labels (``Fashion-MNIST``, ``sotu (233 files), ...``): a
run's key holds its data label, so with paths in it a rerun from another working directory measured every run again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import idinit_options

from idinit_hf.options import OPTION_SPECS

ORDER = [spec.field for spec in OPTION_SPECS]


def parse_pairs(text: str) -> dict[str, str]:
    """``"query_scale=0,embeddings=idi"`` → {field: value text}."""
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def effective(method: str, old: dict[str, str]) -> dict[str, str]:
    _, _, pairs = method.partition(":")
    return {**old, **parse_pairs(pairs)}


def new_name(method: str, old: dict[str, str], new: dict[str, str]) -> str:
    """The name of ``method``'s weights under the new defaults (options compared as the option table parses them)."""
    if method != "idinit" and not method.startswith("idinit:"):
        return method
    options = effective(method, old)
    # an option neither the run nor the old defaults name had the option table's default: it is named too when
    # the new defaults change it (GPT-2's loosening, issue 19)
    defaults = {f"idinit_{spec.field}": spec.default for spec in OPTION_SPECS}
    parsed = {**defaults, **idinit_options("idinit:" + ",".join(f"{k}={v}" for k, v in options.items()))}
    baseline = {**defaults, **idinit_options("idinit:" + ",".join(f"{k}={v}" for k, v in new.items()))}
    differ = [k for k in ORDER if parsed[f"idinit_{k}"] != baseline[f"idinit_{k}"]]
    text = {k: options.get(k, str(defaults[f"idinit_{k}"])) for k in differ}
    return "idinit" + (":" + ",".join(f"{k}={text[k]}" for k in differ) if differ else "")


def portable_data_label(label: str) -> str:
    """The label ``common.load_text`` / ``load_images`` give today to data an older run labelled with its path."""
    name, sep, _path = label.partition(" from ")
    if sep:
        return name
    head, sep, rest = label.partition(" (")
    return f"{Path(head).name} ({rest}" if sep and "/" in head else label


def relabel_data(runs: list[dict]) -> dict[str, str]:
    """Rename path-bearing data labels of ``runs`` in place; return {old label: new label} for those changed."""
    renamed = {}
    for run in runs:
        label = portable_data_label(run["data"])
        if label != run["data"]:
            renamed[run["data"]] = label
            run["data"] = label
    return renamed


def relabel_runs(runs: list[dict], family: str, old: dict, new: dict) -> dict[str, str]:
    """Rename the runs of ``family`` in place; return {old name: new name} for the names that changed."""
    renamed = {}
    for run in runs:
        if run.get("family") != family:
            continue
        name = new_name(run["method"], old, new)
        if name != run["method"]:
            renamed[run["method"]] = name
            run["method"] = name
    return renamed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", help="the family whose runs to rename (not with --data_paths)")
    parser.add_argument("--data_paths", action="store_true", help="rename path-bearing data labels instead")
    parser.add_argument("--old", default="", help="the family's option defaults when the runs were made: k=v,...")
    parser.add_argument("--new", default="", help="the family's option defaults now: k=v,...")
    parser.add_argument("files", nargs="+", help="convergence.json / stability.json files")
    args = parser.parse_args(argv)
    if bool(args.family) == args.data_paths:
        parser.error("give --family (to rename methods) or --data_paths (to rename data labels)")
    old, new = parse_pairs(args.old), parse_pairs(args.new)
    for path in map(Path, args.files):
        data = json.loads(path.read_text())
        if args.data_paths:
            renamed = relabel_data(data.get("runs", []))
        elif "runs" in data:  # convergence
            renamed = relabel_runs(data["runs"], args.family, old, new)
        else:  # stability: one list of rows per sweep
            renamed = {}
            for _key, rows in data.items():
                if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "method" in rows[0]:
                    renamed.update(relabel_runs(rows, args.family, old, new))
        if not renamed:
            print(f"{path}: nothing to relabel")
            continue
        note = ("relabelled the data of the runs above to labels without the path they were read from: "
                + ", ".join(f"'{a}' -> '{b}'" for a, b in sorted(renamed.items()))) if args.data_paths else (
                f"relabelled the {args.family} runs above, measured while its defaults were "
                f"{args.old or 'the table defaults'} (now {args.new or 'the table defaults'}): "
                + ", ".join(f"'{a}' -> '{b}'" for a, b in sorted(renamed.items())))
        if "runs" in data:
            data["meta"]["sessions"].append({"note": note})
            if "table" in data:
                from convergence import summarize

                data["table"] = summarize(data["runs"])
            if "savings" in data:  # budget.json: IDInit's step savings are computed from the names
                from budget import savings

                data["savings"] = savings(data["runs"])
        else:
            data.setdefault("notes", []).append(note)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(data, indent=1))
        partial.replace(path)
        print(f"{path}: {note}")


if __name__ == "__main__":
    main()
