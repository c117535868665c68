"""Helpers shared by the script tests (run a script as a subprocess or in-process), and smoke tests of the CLI.

Every run is tiny (2-layer models, a few steps) and offline: HF_HUB_OFFLINE=1, data embedded in the package.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idinit_hf.options import OPTION_SPECS

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
ACCELERATE = Path(sys.executable).parent / "accelerate"

TINY = {
    "clm": ["--config_overrides", "n_layer=2,n_embd=32,n_head=2,n_positions=64", "--block_size", "32",
            "--vocab_size", "300", "--max_eval_samples", "2"],
    "mlm": ["--config_overrides", "num_hidden_layers=2,hidden_size=32,num_attention_heads=2,intermediate_size=64,"
            "max_position_embeddings=64", "--block_size", "32", "--vocab_size", "300", "--max_eval_samples", "2"],
    "vit": ["--config_overrides", "image_size=8,patch_size=2,num_channels=1,num_hidden_layers=2,hidden_size=32,"
            "num_attention_heads=2,intermediate_size=64", "--per_device_train_batch_size", "32",
            "--max_eval_samples", "64"],
}


def script_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               TRANSFORMERS_VERBOSITY="error", PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    env.pop("ACCELERATE_MIXED_PRECISION", None)
    return env


def run_script(name: str, *args: str, launcher: list[str] | None = None, check: bool = True,
               timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``scripts/pretrain_<name>.py`` with ``args`` in a fresh process (``launcher`` e.g. accelerate)."""
    command = (launcher or [sys.executable]) + [str(SCRIPTS / f"pretrain_{name}.py"), *args]
    result = subprocess.run(command, env=script_env(), cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


def load_script(name: str):
    """``scripts/pretrain_<name>.py`` as a module, to call its ``main`` in-process."""
    spec = importlib.util.spec_from_file_location(f"pretrain_{name}", SCRIPTS / f"pretrain_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_accelerate_state():
    """In-process runs create accelerate's process-wide singletons (PartialState, AcceleratorState,
    GradientState); reset them afterwards so that no later test inherits this run's settings."""
    yield
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def read_log(output_dir: Path, kind: str = "train") -> list[dict]:
    lines = (Path(output_dir) / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime: equal snapshots mean nothing was written."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def assert_learns(output_dir: Path) -> None:
    losses = [r["loss"] for r in read_log(output_dir)]
    assert len(losses) >= 6, losses
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses


@pytest.mark.parametrize("name", ["clm", "mlm", "vit"])
def test_help_lists_the_shared_and_init_flags(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script(name).main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--init_method", *(f"--{spec.key}" for spec in OPTION_SPECS), "--max_train_steps", "--gradient_accumulation_steps", "--checkpointing_steps",
                 "--resume_from_checkpoint", "--mixed_precision_fallback", "--config_overrides", "--eval_steps"):
        assert flag in text, flag
