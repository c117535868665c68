"""The README's code runs as written: its Python blocks, in order, in a fresh interpreter (offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_a_python_example():
    assert python_blocks()


@pytest.mark.slow
def test_the_readme_examples_run_as_written(tmp_path):
    script = tmp_path / "readme.py"
    script.write_text("\n".join(python_blocks()))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[0] == "True"  # verify(model).ok
    # the identity report: one row per block, its index first
    report = [line.split() for line in result.stdout.splitlines() if re.match(r"\s+\d+\s", line)]
    assert len(report) == 8 and all(float(row[1]) < 1e-3 for row in report)
    assert (tmp_path / "out" / "config.json").exists()
