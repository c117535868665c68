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
that a run's own value equal to the table's default (``query_scale=1``) is still named. ``--made_before TIME``
relabels only the runs finished before TIME (and those that record no time): when a file already holds runs made
under the new defaults, with the new names. A run that records the options it was built with (``options``, written
by ``runs.measure`` since that field exists) needs neither: its IDInit part is named from that record, whatever
``--old`` and ``--made_before`` say (a swap probe's donor, which is not recorded, still goes by them). A renaming
that would give two runs of a file one name (the same command run twice, or runs made under the new defaults not
excluded) writes nothing and exits with an error.

    python benchmarks/relabel.py --data_paths benchmarks/results/convergence.json benchmarks/results/budget.json

renames the data of runs labelled with the path they were read from (``Fashion-MNIST from ../shared/...``,
``../shared/data/text/sotu (233 files), ...``) to today's labels (``Fashion-MNIST``, ``sotu (233 files), ...``): a
run's key holds its data label, so with paths in it a rerun from another working directory measured every run again.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from common import ADD_ONS, SWAP, idinit_options

from idinit_hf.options import OPTION_SPECS

ORDER = [spec.field for spec in OPTION_SPECS]
STAMP = "%Y-%m-%dT%H:%M:%S%z"  # a run's "finished" time (runs.measure)


def parse_pairs(text: str) -> dict[str, str]:
    """``"query_scale=0,embeddings=idi"`` → {field: value text}."""
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def effective(method: str, old: dict[str, str]) -> dict[str, str]:
    _, _, pairs = method.partition(":")
    return {**old, **parse_pairs(pairs)}


def new_name(method: str, old: dict[str, str] | None, new: dict[str, str], recorded: dict | None = None) -> str:
    """The name of ``method``'s weights under the new defaults (options compared as the option table parses them);
    a swap probe ``A+B[roles]`` (``common.SWAP``) renames its two methods, an add-on probe ``A+unit-table`` its A.

    ``recorded``: the options the run's IDInit model was built with (``runs.built_options``; a probe's base
    method's), which name it exactly; ``old`` (the defaults of the time) is then not needed for that part.
    ``old=None`` keeps the unrecorded parts' names (a run made under the new defaults)."""
    if (swap := SWAP.fullmatch(method)) is not None:
        return f"{new_name(swap['base'], old, new, recorded)}+{new_name(swap['donor'], old, new)}[{swap['roles']}]"
    base, plus, add_on = method.rpartition("+")
    if plus and add_on in ADD_ONS:
        return f"{new_name(base, old, new, recorded)}+{add_on}"
    if method != "idinit" and not method.startswith("idinit:"):
        return method
    if recorded is None and old is None:
        return method
    defaults = {f"idinit_{spec.field}": spec.default for spec in OPTION_SPECS}
    if recorded is not None:
        named = parse_pairs(method.partition(":")[2])  # the option texts the name gives, kept where still named
        # an option added after the run was made had its table default then (a new option keeps old behaviour)
        parsed = {**defaults, **{f"idinit_{k}": v for k, v in recorded.items()}}
    else:
        # an option neither the run nor the old defaults name had the option table's default: it is named too when
        # the new defaults change it (GPT-2's loosening, issue 19)
        named = effective(method, old)
        parsed = {**defaults, **idinit_options("idinit:" + ",".join(f"{k}={v}" for k, v in named.items()))}
    baseline = {**defaults, **idinit_options("idinit:" + ",".join(f"{k}={v}" for k, v in new.items()))}
    differ = [k for k in ORDER if parsed[f"idinit_{k}"] != baseline[f"idinit_{k}"]]
    text = {k: named.get(k, str(parsed[f"idinit_{k}"])) for k in differ}
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


def made_before(run: dict, time: datetime | None) -> bool:
    """Whether ``run`` finished before ``time`` (None: every run); a run that records no finish time was made before
    runs were stamped, so before any time given."""
    if time is None or not run.get("finished"):
        return True
    return datetime.strptime(run["finished"], STAMP) < time


def relabel_runs(runs: list[dict], family: str, old: dict, new: dict, before: datetime | None = None) -> dict[str, str]:
    """Rename the runs of ``family`` in place: by the options they record, else by ``old`` (only those finished
    ``before``, if given); return {old name: new name} for the names that changed."""
    renamed = {}
    for run in runs:
        if run.get("family") != family:
            continue
        recorded, made_under_old = run.get("options"), made_before(run, before)
        if recorded is None and not made_under_old:
            continue
        name = new_name(run["method"], old if made_under_old else None, new, recorded)
        if name != run["method"]:
            renamed[run["method"]] = name
            run["method"] = name
    return renamed


def duplicate_keys(runs: list[dict]) -> list[tuple]:
    """The keys (``runs.run_key``: what a rerun skips on) that more than one run holds: a renaming that merged two
    measurements."""
    from runs import run_key

    seen, twice = set(), []
    for run in runs:
        key = run_key(run)
        if key in seen:
            twice.append(key[:5])
        seen.add(key)
    return twice


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", help="the family whose runs to rename (not with --data_paths)")
    parser.add_argument("--data_paths", action="store_true", help="rename path-bearing data labels instead")
    parser.add_argument("--old", default="", help="the family's option defaults when the runs were made: k=v,...")
    parser.add_argument("--new", default="", help="the family's option defaults now: k=v,...")
    parser.add_argument("--made_before", type=lambda text: datetime.strptime(text, STAMP), default=None,
                        help="relabel only the runs finished before this time (e.g. 2026-12-02T03:48:34+0000: when the "
                             "defaults changed), and those that record no finish time; later runs already carry the "
                             "new defaults' names")
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
            renamed = relabel_runs(data["runs"], args.family, old, new, args.made_before)
        else:  # stability: one list of rows per sweep
            renamed = {}
            for _key, rows in data.items():
                if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "method" in rows[0]:
                    renamed.update(relabel_runs(rows, args.family, old, new, args.made_before))
        if not renamed:
            print(f"{path}: nothing to relabel")
            continue
        if "runs" in data and (twice := duplicate_keys(data["runs"])):
            raise SystemExit(f"{path}: not written: the renaming gives two runs one name, e.g. {twice[0]} (a file "
                             "relabelled twice, or runs made under the new defaults: see --made_before)")
        note = ("relabelled the data of the runs above to labels without the path they were read from: "
                + ", ".join(f"'{a}' -> '{b}'" for a, b in sorted(renamed.items()))) if args.data_paths else (
                f"relabelled the {args.family} runs above, measured while its defaults were "
                f"{args.old or 'the table defaults'} (now {args.new or 'the table defaults'})"
                f"{f', those finished before {args.made_before:{STAMP}}' if args.made_before else ''}: "
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
