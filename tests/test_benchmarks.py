"""The benchmark scripts run end to end on tiny settings and write what the README block is generated from."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idinit_hf import testing

pytestmark = pytest.mark.slow  # trains, or starts processes: the full suite only

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TRANSFORMERS_VERBOSITY": "error"}


def run(script, *args):
    return subprocess.run([sys.executable, script, *args], cwd=BENCHMARKS, env=ENV, capture_output=True, text=True,
                          timeout=300)


def test_convergence_smoke(tmp_path):
    result = run("convergence.py", "--families", "gpt2", "bert", "vit", "--depths", "1", "2", "--seeds", "0",
                 "--steps", "4", "--eval_every", "2", "--eval_batches", "1", "--warmup", "1",
                 "--methods", "default", "idinit", "zero-branch-out", "--output_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "convergence.json").read_text())
    methods = {(r["family"], r["depth"], r["method"]) for r in data["table"]}
    assert ("vit", 2, "depth-scaled") in methods  # deeper depths run the core methods
    assert ("gpt2", 1, "zero-branch-out") in methods
    assert all(len(r["curve"]) == 3 for r in data["runs"])  # step 0, 2, 4
    assert {p.name for p in tmp_path.glob("*.png")} == {"convergence_gpt2.png", "convergence_bert.png", "convergence_vit.png"}
    assert "| family | data | layers | method |" in result.stdout


def test_stability_smoke(tmp_path):
    common = ["--families", "gpt2", "--depth_families", "bert", "--methods", "default", "idinit", "--lrs", "1e-3",
              "--depths", "1", "--steps", "3", "--warmup", "1", "--lr_depth", "1", "--output_dir", str(tmp_path)]
    result = run("stability.py", *common, "--sweeps", "lr")
    assert result.returncode == 0, result.stderr[-2000:]
    result = run("stability.py", *common, "--sweeps", "depth")  # keeps the lr sweep already saved
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "stability.json").read_text())
    assert len(data["lr_sweep"]) == 4 and len(data["depth_sweep"]) == 2
    assert "--sweeps lr" in data["lr_meta"]["command"] and "--sweeps depth" in data["depth_meta"]["command"]
    assert {r["status"] for r in data["lr_sweep"]} <= {"ok", "stalled", "diverged"}
    assert all(r["frequency_baseline"] > 0 for r in data["lr_sweep"])
    assert (tmp_path / "stability_lr.png").exists() and (tmp_path / "stability_depth.png").exists()
    common[common.index("default"):common.index("idinit") + 1] = ["zero-branch-out"]
    result = run("stability.py", *common, "--sweeps", "lr", "--update")  # adds a method, keeps the others
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "stability.json").read_text())
    assert sorted({r["method"] for r in data["lr_sweep"]}) == ["default", "idinit", "zero-branch-out"]
    assert len(data["lr_sweep"]) == 6 and len(data["depth_sweep"]) == 2


@pytest.mark.parametrize("bad, message", [(["--steps", "0"], "--steps must be > 0"),
                                          (["--width", "24"], "--width must be a multiple of 16"),
                                          (["--merge", "no/such.json"], "--merge no/such.json: no such file"),
                                          (["--methods", "xavier"], "unknown method 'xavier'")])
def test_convergence_rejects_bad_settings(bad, message, tmp_path):
    result = run("convergence.py", *bad, "--output_dir", str(tmp_path))
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_stability_rejects_a_bad_stall_margin(tmp_path):
    result = run("stability.py", "--stall_margin", "1.5", "--output_dir", str(tmp_path))
    assert result.returncode == 2 and "--stall_margin must be in [0, 1); got 1.5" in result.stderr


def _run(family, depth, method, seed, steps=4, loss=1.0):
    return {"family": family, "data": "d", "depth": depth, "method": method, "seed": seed,
            "settings": {"steps": steps}, "curve": [(0, 9.0, 0.0), (steps, loss, 0.5)], "test_loss": loss,
            "diverged": False}


def test_merge_replaces_a_run_and_drops_a_group_measured_with_other_settings():
    sys.path.insert(0, str(BENCHMARKS))
    from convergence import merge, summarize

    old = [_run("gpt2", 4, "default", 0), _run("gpt2", 4, "idinit", 0, loss=0.9), _run("bert", 4, "default", 0)]
    added = merge(old, [_run("gpt2", 4, "idinit", 0, loss=0.8), _run("gpt2", 4, "idinit:loosening=1e-3", 0)])
    assert len(added) == 4 and [r["curve"][-1][1] for r in added if r["method"] == "idinit"] == [0.8]
    longer = merge(added, [_run("gpt2", 4, "default", 0, steps=8)])  # a new setting replaces the whole group
    assert sorted((r["family"], r["method"]) for r in longer) == [("bert", "default"), ("gpt2", "default")]
    assert {r["method"]: r["reached_in"] for r in summarize(added) if r["family"] == "gpt2"}["idinit"] == "1/1"


def test_convergence_update_adds_runs(tmp_path):
    common = ["--families", "gpt2", "--depths", "1", "--seeds", "0", "--steps", "2", "--eval_every", "1",
              "--eval_batches", "1", "--warmup", "1", "--output_dir", str(tmp_path)]
    assert run("convergence.py", *common, "--methods", "default", "idinit").returncode == 0
    result = run("convergence.py", *common, "--methods", "idinit:zero_pattern=identity", "--update")
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "convergence.json").read_text())
    assert {r["method"] for r in data["runs"]} == {"default", "idinit", "idinit:zero_pattern=identity"}
    assert len(data["meta"]["sessions"]) == 2 and "--update" in data["meta"]["sessions"][1]["command"]


def test_init_speed_smoke(tmp_path):
    result = run("init_speed.py", "--sizes", "tiny", "--repeats", "1", "--output", str(tmp_path / "speed.json"))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "speed.json").read_text())
    assert [r["method"] for r in data["rows"]] == ["zero-fill", "write-limit", "default", "idinit"]
    assert all(r["seconds"] > 0 and r["params"] == data["rows"][0]["params"] for r in data["rows"])
    assert "| tiny | float32 |" in result.stdout and "within 1.5× of the write limit" in result.stdout


def test_diagnostics_smoke(tmp_path):
    result = run("diagnostics.py", "--depth", "2", "--output_dir", str(tmp_path), "--docs", str(tmp_path / "d.md"))
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "diagnostics.json").read_text())["rows"]
    assert [(r["family"], r["init"]) for r in rows] == [(f, i) for f in testing.names() for i in ("default", "idinit")]
    idinit_gpt2 = rows[1]
    assert max(b["identity_error"] for b in idinit_gpt2["blocks"]) < 1e-3  # pre-LN IDInit blocks are identities
    assert "| gpt2 | idinit |" in (tmp_path / "d.md").read_text() and (tmp_path / "diagnostics.png").exists()


def test_report_rewrites_only_the_marked_block(tmp_path):
    """report.py on synthetic results: the README block is replaced, the text around it kept, docs/results.md
    written, and the goals judged from the numbers."""
    sys.path.insert(0, str(BENCHMARKS))
    from common import RunSettings
    from convergence import write

    results = tmp_path / "results"
    runs = [{**_run("gpt2", 4, method, seed, loss=loss), "seconds": 1.0, "settings": vars(RunSettings(steps=4))}
            for seed in (0, 1) for method, loss in (("default", 1.0), ("idinit", 0.9))]
    write(results, runs, [{"machine": "test machine", "commit": "abc1234", "minutes": 1.0, "complete": True,
                           "command": "python benchmarks/convergence.py --test", "families": ["gpt2"]}])
    meta = {"machine": "m", "commit": "c", "command": "python benchmarks/stability.py",
            "settings": {"lrs": [1e-3], "lr_depth": 2, "warmup": 1, "families": ["gpt2"], "steps": 3, "seed": 0,
                         "width": 16, "methods": ["default", "idinit"], "stall_margin": 0.02}}
    rows = [{"family": "gpt2", "method": m, "depth": 2, "lr": 1e-3, "warmup": 0, "status": s, "final_loss": 1.0}
            for m, s in (("default", "ok"), ("idinit", "stalled"))]
    (results / "stability.json").write_text(json.dumps({"lr_sweep": rows, "lr_meta": meta}))
    speed = [{"size": "tiny", "dtype": "float32", "method": m, "params": 10**6, "seconds": t, "peak_rss_mb": 1.0,
              "build_mb": b} for m, t, b in (("zero-fill", 1.0, 4.0), ("write-limit", 1.5, 4.0), ("default", 3.0, 4.0),
                                             ("idinit", 2.5, 4.0))]
    (results / "init_speed.json").write_text(json.dumps({"machine": "m", "repeats": 1, "rows": speed}))
    root = tmp_path / "checkout"
    (root / "docs").mkdir(parents=True)
    (root / "README.md").write_text("intro\n<!-- results:begin -->\nold\n<!-- results:end -->\noutro\n")
    result = run("report.py", "--results_dir", str(results), "--root", str(root))
    assert result.returncode == 0, result.stderr[-2000:]
    readme = (root / "README.md").read_text()
    assert readme.startswith("intro\n<!-- results:begin -->\n") and readme.endswith("<!-- results:end -->\noutro\n")
    assert "old" not in readme and "test machine" in readme and "| gpt2 | d | 4 | 1.000 ± 0.000 | 0.900 ± 0.000 |" in readme
    assert "no IDInit run diverges or stalls where the default trains: **no**: gpt2 L=2" in readme
    assert "within 1.5× of the write limit: **no** (1.67×)" in readme
    assert "python benchmarks/convergence.py --test" in (root / "docs" / "results.md").read_text()
