"""The benchmark scripts run end to end on tiny settings and write what the README block is generated from."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TRANSFORMERS_VERBOSITY": "error"}


def run(script, *args):
    return subprocess.run([sys.executable, script, *args], cwd=BENCHMARKS, env=ENV, capture_output=True, text=True,
                          timeout=300)


def test_convergence_smoke(tmp_path):
    result = run("convergence.py", "--families", "gpt2", "bert", "vit", "--depths", "1", "2", "--seeds", "0", "1",
                 "--steps", "4", "--eval_every", "2", "--eval_batches", "1", "--warmup", "1",
                 "--methods", "default", "idinit", "zero-branch-out", "--output_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "convergence.json").read_text())
    methods = {(r["family"], r["depth"], r["method"]) for r in data["table"]}
    assert ("vit", 2, "depth-scaled") in methods  # deeper depths run the core methods
    assert ("gpt2", 1, "zero-branch-out") in methods
    assert all(len(r["curve"]) == 3 for r in data["runs"])  # step 0, 2, 4
    assert {p.name for p in tmp_path.glob("*.png")} == {"convergence_gpt2.png", "convergence_bert.png", "convergence_vit.png"}
    assert "| family | layers | method |" in result.stdout


def test_stability_smoke(tmp_path):
    result = run("stability.py", "--families", "gpt2", "--depth_families", "bert", "--methods", "default", "idinit",
                 "--lrs", "1e-3", "--depths", "1", "--steps", "3", "--warmup", "1", "--lr_depth", "1",
                 "--output_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "stability.json").read_text())
    assert len(data["lr_sweep"]) == 4 and len(data["depth_sweep"]) == 2
    assert {r["status"] for r in data["lr_sweep"]} <= {"ok", "stalled", "diverged"}
    assert (tmp_path / "stability_lr.png").exists() and (tmp_path / "stability_depth.png").exists()


@pytest.mark.parametrize("bad", [["--steps", "0"], ["--width", "24"]])
def test_convergence_rejects_bad_settings(bad, tmp_path):
    result = run("convergence.py", *bad, "--output_dir", str(tmp_path))
    assert result.returncode == 2 and "must be" in result.stderr
