"""scripts/check_gpu.py on the CPU (``--cpu``): the checks it is asked for, each family's stock dtype contract, a
stack that refuses a forward reported as a finding, and the table printed when a timeout stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_gpu.py"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONUNBUFFERED": "1"}

pytestmark = pytest.mark.slow


def check_gpu(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--quick", *flags], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)


def test_only_the_named_checks_run():
    result = check_gpu("--families", "gpt2", "--checks", "patterns")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "[PASS] patterns bf16/fp16" in result.stdout
    assert "build device=cpu" not in result.stdout and "train gpt2" not in result.stdout
    assert "1 checks, 0 failed" in result.stdout


def test_a_weight_the_stock_class_keeps_in_float32_passes_the_patterns_check():
    # DeepSeek-V3's router is in _keep_in_fp32_modules_strict: float32 in a bf16 / fp16 model, stock and IDInit alike
    result = check_gpu("--families", "deepseek_v3", "--checks", "patterns")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "[PASS] patterns bf16/fp16" in result.stdout


def test_the_epsilon_check_reports_every_family():
    result = check_gpu("--families", "gpt2", "qwen2_moe", "--checks", "eps")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("[INFO] fp16 eps subnormal"))
    assert "gpt2 first branch nonzero: fp32 1.00" in line
    # measured, or refused by the stack (transformers' grouped_mm on the CPU with torch 2.13): named either way
    assert "qwen2_moe first branch nonzero" in line or "qwen2_moe: forward failed" in line


@pytest.fixture
def script(monkeypatch):
    """scripts/check_gpu.py imported in this process, checking GPT-2 alone."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import check_gpu

    monkeypatch.setattr(check_gpu, "FAMILIES", ["gpt2"])
    return check_gpu


def test_a_forward_the_stack_refuses_is_a_finding_not_a_failure(script, monkeypatch):
    build = script.build

    def refusing(family, device, dtype=None, **options):
        model = build(family, device, dtype=dtype, **options)
        if dtype == torch.float16:
            model.forward = lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("strides should be multiple"))
        return model

    monkeypatch.setattr(script, "build", refusing)
    status, detail = script.check_fp16_epsilon("cpu")
    assert status == "INFO" and "gpt2: forward failed (strides should be multiple)" in detail


def test_a_build_that_fails_fails_the_epsilon_check(script, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no memory")

    monkeypatch.setattr(script, "build", broken)
    script.RESULTS.clear()
    script.run_check("fp16 eps subnormal", lambda: script.check_fp16_epsilon("cpu"))
    assert script.RESULTS[-1][1] == "FAIL" and "no memory" in script.RESULTS[-1][2]


def test_a_timeout_still_prints_the_table_of_finished_checks():
    command = [sys.executable, str(SCRIPT), "--cpu", "--quick", "--families", "gpt2", "--checks", "patterns", "train"]
    with subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as process:
        lines = []
        for line in process.stdout:  # stop it as soon as the first check has finished, as `timeout` would
            lines.append(line)
            if line.startswith("[PASS] patterns"):
                process.send_signal(signal.SIGTERM)
                break
        lines += process.stdout.readlines()
        assert process.wait(timeout=120) == 1
    output = "".join(lines)
    assert "patterns bf16/fp16         PASS" in output
    assert "stopped by SIGTERM" in output
