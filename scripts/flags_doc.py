"""Write the "All flags" section of docs/scripts.md from the scripts' own parsers, so the page cannot drift.

    python scripts/flags_doc.py            # rewrite the section between the markers
    python scripts/flags_doc.py --check    # exit 1 if the page is out of date (tests/test_script_flags.py runs it)

Each table row is one flag: the scripts that have it, its default (per script where they differ) and its help.
The ``--idinit_*`` rows come from ``idinit_hf.options.OPTION_SPECS`` through the parser like every other flag.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from idinit_hf.training.args import TASK_DEFAULTS, build_parser

DOC = Path(__file__).resolve().parents[1] / "docs" / "scripts.md"
BEGIN, END = "<!-- flags:begin (python scripts/flags_doc.py) -->", "<!-- flags:end -->"
TASKS = tuple(TASK_DEFAULTS)


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


def rewritten(page: str) -> str:
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\nDefaults are those of `--help`; \"scripts\" says which scripts have the flag.\n\n{flag_tables()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that docs/scripts.md is up to date")
    args = parser.parse_args(argv)
    page = DOC.read_text()
    if BEGIN not in page or END not in page:
        print(f"{DOC}: the markers {BEGIN} … {END} are missing", file=sys.stderr)
        return 1
    new = rewritten(page)
    if args.check:
        if new != page:
            print(f"{DOC} is out of date: run python scripts/flags_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
