"""Write the generated tables of the docs from the code, so the pages cannot drift:

* docs/options.md, "Every option": one row per ``idinit_hf.options.OPTION_SPECS`` entry, with the architecture
  defaults of the registry (``Family.option_defaults``);
* docs/scripts.md, "All flags": the scripts' own parsers, one row per flag (the ``--idinit_*`` rows come from the
  same option table through the parser);
* README.md, "Supported models" (one row per family of the registry: objective and model types) and "Options"
  (one line per option with its default and each architecture's own).

    python scripts/docs_tables.py            # rewrite the sections between the markers
    python scripts/docs_tables.py --check    # exit 1 if a page is out of date (tests/training/test_args.py runs it)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from idinit_hf import FAMILIES
from idinit_hf.options import OPTION_SPECS
from idinit_hf.training.args import build_parser
from idinit_hf.training.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _default(action: argparse.Action) -> str:
    if action.default in (None, argparse.SUPPRESS):
        return "—"
    if action.default is False:
        return "off"
    return f"`{action.default}`"


def _help(action: argparse.Action) -> str:
    text = " ".join((action.help or "").split())
    if action.choices and action.type is None and "Allowed:" not in text:
        text += "; one of " + ", ".join(f"`{c}`" for c in action.choices)
    return text.replace("|", "\\|")


def flag_tables() -> str:
    """The Markdown of every flag group: one table per argparse group, in the order of ``--help``."""
    parsers = {task: build_parser(task, "") for task in TASKS}
    groups: dict[str, dict[str, dict[str, argparse.Action]]] = {}  # title → flag → task → action
    for task, parser in parsers.items():
        for group in parser._action_groups:
            for action in group._group_actions:
                if action.option_strings and action.dest != "help":
                    groups.setdefault(group.title, {}).setdefault(action.option_strings[0], {})[task] = action
    out = []
    for title, flags in groups.items():
        out += [f"### {title[0].upper()}{title[1:]}", "", "| flag | scripts | default | meaning |", "|---|---|---|---|"]
        for flag, per_task in flags.items():
            scripts = "all" if len(per_task) == len(TASKS) else ", ".join(per_task)
            defaults = {task: _default(action) for task, action in per_task.items()}
            default = (next(iter(defaults.values())) if len(set(defaults.values())) == 1
                       else ", ".join(f"{task}: {value}" for task, value in defaults.items()))
            out.append(f"| `{flag}` | {scripts} | {default} | {_help(next(iter(per_task.values())))} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def option_table() -> str:
    """One row per option: key, default (and each architecture's own), allowed values, meaning."""
    rows = ["| key | default | allowed | meaning |", "|---|---|---|---|",
            "| `init_method` | `\"default\"` (or absent) | `\"default\"`, `\"idinit\"` | `default`: the model's own "
            "init, bit for bit; `idinit`: the rules of [method.md](method.md) |"]
    for spec in OPTION_SPECS:
        own = [f"{family.name}: `{value!r}`" for family in FAMILIES for field, value in family.option_defaults
               if field == spec.field]
        default = "; ".join([f"`{spec.default!r}`", *own])
        doc = " ".join(spec.doc.split()).replace("|", "\\|")
        rows.append(f"| `{spec.key}` | {default} | {spec.allowed()} | {doc} |")
    return "\n".join(rows) + "\n"


def model_table() -> str:
    """One row per family of the registry: what it pretrains on and the model types its table covers."""
    rows = ["| family | pretraining objective | model types |", "|---|---|---|"]
    for family in FAMILIES:
        types = ", ".join(f"`{t}`" for t in family.model_types)
        rows.append(f"| {family.name} | {family.objective.name} (`{family.pretraining}`) | {types} |")
    return "\n".join(rows) + "\n"


def option_list() -> str:
    """The options in one line each: key, default (and each architecture's own), and what it is."""
    lines = ["`init_method`: `\"default\"` (or absent: the model's own init, bit for bit) or `\"idinit\"`."]
    for spec in OPTION_SPECS:
        own = [f"{family.name} `{value!r}`" for family in FAMILIES for field, value in family.option_defaults
               if field == spec.field]
        default = f"`{spec.default!r}`" + (f" ({', '.join(own)})" if own else "")
        lines.append(f"`{spec.key}` = {default}: {' '.join(spec.doc.split())}")
    return "\n".join(f"- {line}" for line in lines) + "\n\nAllowed values and exact errors: [docs/options.md](docs/options.md).\n"


#: page (relative to the repository) → (section name, function that writes it)
SECTIONS = {
    "docs/scripts.md": ("flags", lambda: 'Defaults are those of `--help`; "scripts" says which scripts have the '
                        'flag.\n\n' + flag_tables()),
    "docs/options.md": ("options", option_table),
    "README.md": ("models", model_table),
}
#: pages with more than one generated section
EXTRA_SECTIONS = {"README.md": [("option-list", option_list)]}


def markers(section: str) -> tuple[str, str]:
    return f"<!-- {section}:begin (python scripts/docs_tables.py) -->", f"<!-- {section}:end -->"


def rewritten(page: str, section: str, text: str) -> str:
    begin, end = markers(section)
    if begin not in page or end not in page:
        raise SystemExit(f"the markers {begin} … {end} are missing")
    head, _, rest = page.partition(begin)
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n\n{text}\n{end}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the pages are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name, first in SECTIONS.items():
        path = ROOT / name
        page = path.read_text()
        new = page
        for section, write in [first, *EXTRA_SECTIONS.get(name, [])]:
            new = rewritten(new, section, write())
        if new == page:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(new)
            print(f"wrote {path}")
    if args.check and stale:
        print(f"out of date: {', '.join(map(str, stale))}; run python scripts/docs_tables.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
