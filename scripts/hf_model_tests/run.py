#!/usr/bin/env python
"""Run transformers' own model tests against idinit_hf's IDInit classes and report what regresses.

For every model type the test module is tests/models/<type>/test_modeling_<type>.py (the transformers repo layout;
fetch a new one into that path). Each module runs once per mode (conftest.py says what a mode changes):

    stock          the baseline, always run
    idinit         IDInit classes, configs with init_method="idinit", idinit_hf.install()
    idinit-absent  IDInit classes and install(), configs without init_method (must be exactly stock)

A regression is a test that PASSES in stock and FAILS or ERRORS in an idinit mode. Tests that pass in stock but are
skipped in an idinit mode are listed separately (a skip can hide a contract break); tests that fail in stock are not
regressions. With --confirm (the default) every regression is rerun once more in stock and in its mode, so that a
flaky test is reported as such instead of as a regression.

    ./run.py --types gpt2 bert vit llama mistral qwen2 qwen3
    ./run.py --types llama --modes idinit -k "init or resize"
    ./run.py --types llama --idinit-path ../..                    # a checkout's idinit_hf, not the installed one

Writes <out>/summary.json and <out>/summary.txt, plus one junit XML and one log per (type, mode).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Stands for transformers' repository root: its tests/ (copied, see SOURCES.md), src/transformers (a link to the
#: installed package, made by the first run) and the harness's conftest.py, which must sit at that root.
ROOT = HERE / "third_party"
MODES = ("stock", "idinit", "idinit-absent")
FAILING = ("failed", "error")


def link_transformers_source(python: str) -> None:
    """``src/transformers`` → the installed package: the pipeline mixin imports transformers from ``<repo>/src``,
    as in transformers' own repository."""
    link = ROOT / "src" / "transformers"
    if link.exists():
        return
    code = "import transformers, os; print(os.path.dirname(transformers.__file__))"
    target = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(target, target_is_directory=True)


def module_path(model_type: str) -> Path:
    return ROOT / "tests" / "models" / model_type / f"test_modeling_{model_type}.py"


def available_types() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "tests" / "models").glob("*/test_modeling_*.py")
                  if p.name == f"test_modeling_{p.parent.name}.py")


def environment(mode: str, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT), str(HERE)]  # the test package, and tools/ (-p tools.probe_plugin)
    if args.idinit_path:
        paths.insert(0, str(Path(args.idinit_path).resolve()))
    env.update(
        HFH_MODE=mode,
        PYTHONPATH=os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        OMP_NUM_THREADS=str(args.threads),
        MKL_NUM_THREADS=str(args.threads),
        HFH_TORCH_THREADS=str(args.threads),
        TOKENIZERS_PARALLELISM="false",
        RUN_TENSOR_PARALLEL_TESTS="0",  # multi-process: not run (tests/distributed_testing_utils.py skips them)
        RUN_FSDP_TESTS="0",
        RUN_TRAINING_TESTS="0" if args.no_training else "1",
        HFH_ALL_INIT_TESTS="0" if args.hf_init_skips else "1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def pytest_command(targets: list[str], junit: Path, args: argparse.Namespace, keyword: str | None) -> list[str]:
    cmd = [args.python, "-m", "pytest", *targets, "-p", "no:cacheprovider", "-q", "-rf",
           f"--junitxml={junit}", "-o", "junit_family=xunit1", f"--timeout={args.timeout}"]
    markers = [] if args.include_compile else ["not torch_compile_test"]
    if markers:
        cmd += ["-m", " and ".join(markers)]
    if keyword:
        cmd += ["-k", keyword]
    if args.workers > 1:
        cmd += ["-n", str(args.workers)]
    return cmd


def run_pytest(targets, mode, junit, log, args, keyword=None) -> tuple[float, int]:
    cmd = pytest_command(targets, junit, args, keyword)
    start = time.monotonic()
    with open(log, "w") as fh:
        fh.write("$ " + " ".join(cmd) + f"\n# HFH_MODE={mode}\n\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=ROOT, env=environment(mode, args), stdout=fh, stderr=subprocess.STDOUT)
    return time.monotonic() - start, proc.returncode


def parse_junit(path: Path) -> dict[str, dict]:
    """test id ("Class::test_name") -> {"outcome": passed|failed|error|skipped, "message": first lines}."""
    results: dict[str, dict] = {}
    if not path.exists():
        return results
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        name = case.get("name", "")
        key = f"{cls}::{name}" if cls else name
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                text = (child.get("message") or "") + "\n" + (child.text or "")
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = _first_lines(text)
                if outcome != "skipped":
                    break  # a failure outranks a skip reported for the same case (subtests)
        prev = results.get(key)
        if prev is None or (prev["outcome"] not in FAILING and outcome in FAILING):
            results[key] = {"outcome": outcome, "message": message}
    return results


def _first_lines(text: str, n: int = 6, width: int = 240) -> str:
    lines = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()]
    # the assertion / exception line is the most useful one: put the first "E   " line (pytest's) first
    errors = [ln.strip()[1:].strip() for ln in lines if ln.lstrip().startswith("E ")]
    picked = (errors[:3] + [ln for ln in lines if not ln.lstrip().startswith("E ")][:n - min(3, len(errors))]
              if errors else lines[:n])
    return "\n".join(ln[:width] for ln in picked)


def counts(results: dict[str, dict]) -> dict[str, int]:
    out = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for r in results.values():
        out[r["outcome"]] += 1
    return out


def compare(stock: dict, other: dict) -> tuple[list[dict], list[dict]]:
    regressions, newly_skipped = [], []
    for key, base in sorted(stock.items()):
        if base["outcome"] != "passed" or key not in other:
            continue
        if other[key]["outcome"] in FAILING:
            regressions.append({"test": key, "outcome": other[key]["outcome"], "message": other[key]["message"]})
        elif other[key]["outcome"] == "skipped":
            newly_skipped.append({"test": key, "reason": other[key]["message"]})
    missing = sorted(k for k, v in stock.items() if v["outcome"] == "passed" and k not in other)
    for key in missing:
        regressions.append({"test": key, "outcome": "missing",
                            "message": "passed in stock, not reported in this mode (collection error?)"})
    return regressions, newly_skipped


def node_ids(model_type: str, tests: list[str]) -> list[str]:
    rel = module_path(model_type).relative_to(ROOT)
    return [f"{rel}::{t}" for t in tests]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--types", nargs="+", help="model types (tests/models/<type>/test_modeling_<type>.py)")
    parser.add_argument("--covered", action="store_true",
                        help="every model type idinit_hf covers that has a test module here (added to --types)")
    parser.add_argument("--modes", nargs="+", default=["idinit", "idinit-absent"], choices=MODES,
                        help="idinit modes to compare with stock (stock always runs)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression, passed through")
    parser.add_argument("--out", type=Path, help="results folder (default results/<timestamp>)")
    parser.add_argument("--idinit-path", help="put this folder first on PYTHONPATH (a worktree with idinit_hf/)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with torch/transformers/idinit_hf")
    parser.add_argument("--workers", type=int, default=1, help="pytest-xdist workers (-n); 1 = no xdist")
    parser.add_argument("--threads", type=int, default=1, help="torch/OMP threads per process")
    parser.add_argument("--timeout", type=int, default=900, help="per-test timeout, seconds (pytest-timeout)")
    parser.add_argument("--include-compile", action="store_true",
                        help="also run tests marked torch_compile_test (slow on CPU, deselected by default)")
    parser.add_argument("--no-training", action="store_true", help="RUN_TRAINING_TESTS=0 (skip the overfit tests)")
    parser.add_argument("--hf-init-skips", action="store_true",
                        help="keep transformers' own skip of test_can_init_all_missing_weights for models older than "
                             "2023 (by default the harness runs it for every model, in every mode)")
    parser.add_argument("--no-confirm", action="store_true", help="do not rerun regressions to rule out flakes")
    parser.add_argument("--list", action="store_true", help="list the model types with a test module and exit")
    args = parser.parse_args()

    if args.covered:
        code = "import idinit_hf; print(*idinit_hf.supported_model_types())"
        covered = subprocess.run([args.python, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        args.types = [*(args.types or ()), *(t for t in available_types() if t in covered)]
    if args.list or not args.types:
        print("model types with a test module:", " ".join(available_types()))
        return 0 if args.list else 2
    missing = [t for t in args.types if not module_path(t).exists()]
    if missing:
        print(f"no test module for: {', '.join(missing)} (expected {module_path(missing[0]).relative_to(ROOT)}); "
              f"available: {' '.join(available_types())}", file=sys.stderr)
        return 2
    link_transformers_source(args.python)

    out = args.out or HERE / "results" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    modes = ["stock"] + [m for m in args.modes if m != "stock"]
    meta = {"started": dt.datetime.now().isoformat(timespec="seconds"), "argv": sys.argv, "modes": modes,
            "keyword": args.keyword, "python": args.python, "idinit_path": args.idinit_path, **versions(args)}
    summary = {"meta": meta, "types": {}}

    for model_type in args.types:
        entry = summary["types"][model_type] = {"module": str(module_path(model_type).relative_to(ROOT)),
                                                "runs": {}, "regressions": {}, "passed_in_stock_skipped": {}}
        results = {}
        for mode in modes:
            junit, log = out / f"{model_type}.{mode}.xml", out / f"{model_type}.{mode}.log"
            print(f"[{model_type}] {mode} ...", flush=True)
            seconds, rc = run_pytest([entry["module"]], mode, junit, log, args, args.keyword)
            results[mode] = parse_junit(junit)
            entry["runs"][mode] = {"seconds": round(seconds, 1), "returncode": rc, **counts(results[mode]),
                                   "idinit_hf_tree": idinit_tree(meta), "junit": str(junit), "log": str(log)}
            print(f"[{model_type}] {mode}: {entry['runs'][mode]}", flush=True)
            if mode == "stock":
                continue
            regressions, skipped = compare(results["stock"], results[mode])
            if regressions and not args.no_confirm:
                regressions = confirm(model_type, mode, regressions, out, args)
            entry["regressions"][mode] = regressions
            entry["passed_in_stock_skipped"][mode] = skipped
        write(summary, out)
    summary["meta"]["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    write(summary, out)
    print((out / "summary.txt").read_text())
    return 0


def confirm(model_type: str, mode: str, regressions: list[dict], out: Path, args) -> list[dict]:
    """Rerun each regression once in stock and in ``mode``; mark the ones that do not reproduce as flaky."""
    tests = [r["test"] for r in regressions if r["outcome"] != "missing"]
    if not tests:
        return regressions
    ids = node_ids(model_type, tests)
    again = {}
    for m in ("stock", mode):
        junit, log = out / f"{model_type}.{mode}.confirm-{m}.xml", out / f"{model_type}.{mode}.confirm-{m}.log"
        run_pytest(ids, m, junit, log, args)
        again[m] = parse_junit(junit)
    for r in regressions:
        if r["outcome"] == "missing":
            continue
        s, o = again["stock"].get(r["test"], {}), again[mode].get(r["test"], {})
        r["confirmed"] = s.get("outcome") == "passed" and o.get("outcome") in FAILING
        if not r["confirmed"]:
            r["rerun"] = {"stock": s.get("outcome"), mode: o.get("outcome")}
    return regressions


def idinit_tree(meta: dict) -> str:
    """The git tree id of idinit_hf/ as committed (+dirty when the working copy differs): idinit_hf can change while
    a long run goes on (the checkout is shared), so every (type, mode) run records what it imported."""
    root = meta.get("idinit_hf")
    if not root:
        return ""
    tree = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD:idinit_hf"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "idinit_hf"], capture_output=True,
                           text=True).stdout.strip()
    return tree + ("+dirty" if dirty else "")


def versions(args) -> dict:
    code = ("import json, os, subprocess, torch, transformers, idinit_hf\n"
            "root = os.path.dirname(os.path.dirname(idinit_hf.__file__))\n"
            "try:\n"
            "    rev = subprocess.run(['git', '-C', root, 'rev-parse', '--short', 'HEAD'], capture_output=True,"
            " text=True).stdout.strip()\n"
            "    dirty = bool(subprocess.run(['git', '-C', root, 'status', '--porcelain', '--', 'idinit_hf'],"
            " capture_output=True, text=True).stdout.strip())\n"
            "except OSError:\n"
            "    rev, dirty = '', False\n"
            "print(json.dumps({'torch': torch.__version__, 'transformers': transformers.__version__,"
            " 'idinit_hf': root, 'idinit_hf_commit': rev + ('+dirty' if dirty else '')}))\n")
    proc = subprocess.run([args.python, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=environment("stock", args))
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"versions_error": proc.stderr[-500:]}


def write(summary: dict, out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    meta = summary["meta"]
    lines = [f"hfharness: transformers {meta.get('transformers')}, torch {meta.get('torch')}, idinit_hf "
             f"{meta.get('idinit_hf')} @ {meta.get('idinit_hf_commit')}; modes {', '.join(meta['modes'])}"
             + (f"; -k {meta['keyword']!r}" if meta.get("keyword") else "")]
    for model_type, entry in summary["types"].items():
        runs = "; ".join(f"{m} {r['passed']}p/{r['failed']}f/{r['error']}e/{r['skipped']}s in {r['seconds']:.0f}s"
                         for m, r in entry["runs"].items())
        trees = {r.get("idinit_hf_tree") for r in entry["runs"].values()} - {None, ""}
        if len(trees) > 1:
            runs += f" [idinit_hf changed during the runs: {sorted(trees)}]"
        lines.append(f"\n== {model_type} ({entry['module']}): {runs}")
        for mode, regs in entry["regressions"].items():
            real = [r for r in regs if r.get("confirmed", True)]
            flaky = [r for r in regs if not r.get("confirmed", True)]
            lines.append(f"  {mode}: {len(real)} regression(s)" + (f", {len(flaky)} not reproduced (flaky)"
                                                                   if flaky else ""))
            for r in real:
                msg = r["message"].splitlines()[0] if r["message"] else ""
                lines.append(f"    {r['outcome'].upper():7} {r['test']}: {msg}")
            for r in flaky:
                lines.append(f"    flaky   {r['test']} (rerun: {r.get('rerun')})")
            skipped = entry["passed_in_stock_skipped"].get(mode, [])
            if skipped:
                lines.append(f"  {mode}: {len(skipped)} test(s) pass in stock but are skipped here:")
                for s in skipped:
                    lines.append(f"    SKIPPED {s['test']}: {s['reason'].splitlines()[0] if s['reason'] else ''}")
    (out / "summary.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
