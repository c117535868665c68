"""Helpers of the training and script tests: run a pretraining script in this process or in a fresh one (alone,
under ``accelerate launch`` on a free port, or under the kill worker), read what it wrote, compare weights.

Every run is tiny (2-layer models, a few steps) and offline: HF_HUB_OFFLINE=1, data embedded in the package.
Runs in this process (:func:`run_main`) skip a new interpreter's ~5 s of imports; a fresh process is used where
the property needs one: a real command line, a SIGKILL, several processes, ``torch.compile``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState
from processes import free_port, once, run_process_tree
from safetensors.torch import load_file

from idinit_hf.training.data.sources import embedded_text_documents
from idinit_hf.training.errors import run_cli

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
ACCELERATE = Path(sys.executable).parent / "accelerate"
KILL_WORKER = Path(__file__).resolve().parent / "kill_worker.py"

TINY = {
    "clm": ["--config_overrides", "n_layer=2,n_embd=32,n_head=2,n_positions=64", "--block_size", "32",
            "--vocab_size", "300", "--max_eval_samples", "2"],
    "mlm": ["--config_overrides", "num_hidden_layers=2,hidden_size=32,num_attention_heads=2,intermediate_size=64,"
            "max_position_embeddings=64", "--block_size", "32", "--vocab_size", "300", "--max_eval_samples", "2"],
    "vit": ["--config_overrides", "image_size=8,patch_size=2,num_channels=1,num_hidden_layers=2,hidden_size=32,"
            "num_attention_heads=2,intermediate_size=64", "--per_device_train_batch_size", "32",
            "--max_eval_samples", "64"],
}


#: Lines of the streaming corpus: three packing chunks of documents (1000, 1000, 300).
CORPUS_LINES = 2300


def corpus_lines(count: int = CORPUS_LINES) -> list[str]:
    """Short lines (1 to 4 words of CPython's reference text): many documents, few tokens each, so that one pass
    crosses several packing chunks."""
    words = " ".join(embedded_text_documents()).split()
    return [" ".join(words[i * 4:i * 4 + 1 + i % 4]) for i in range(count)]


def write_corpus(path: Path) -> Path:
    """:func:`corpus_lines` as a text file, one document per line."""
    path.write_text("".join(line + "\n" for line in corpus_lines()))
    return path


def script_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               TRANSFORMERS_VERBOSITY="error", PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    env.pop("ACCELERATE_MIXED_PRECISION", None)
    return env


def accelerate_launch(config: str = "cpu_2proc") -> list[str]:
    """``accelerate launch`` with ``configs/accelerate/<config>.yaml`` on a free port."""
    return [str(ACCELERATE), "launch", "--config_file", str(ROOT / "configs" / "accelerate" / f"{config}.yaml"),
            "--main_process_port", str(free_port())]


def run_script(name: str, *args: str, launcher: list[str] | None = None, check: bool = True,
               timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``scripts/pretrain_<name>.py`` with ``args`` in a fresh process (``launcher`` e.g. accelerate)."""
    command = (launcher or [sys.executable]) + [str(SCRIPTS / f"pretrain_{name}.py"), *args]
    result = run_process_tree(command, env=script_env(), cwd=ROOT, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


def load_script(name: str, path: Path | None = None):
    """``scripts/pretrain_<name>.py`` (or the script at ``path``) as a module, to call its ``main`` in-process."""
    spec = importlib.util.spec_from_file_location(f"pretrain_{name}", path or SCRIPTS / f"pretrain_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reset_accelerate_state() -> None:
    """Forget accelerate's process-wide singletons (PartialState, AcceleratorState, GradientState), so that a run
    in this process neither inherits nor leaves behind another run's settings."""
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def run_main(name: str, *args: str) -> dict:
    """Run ``scripts/pretrain_<name>.py``'s ``main`` in this process (the same code as its command line, with
    one torch thread); returns its results."""
    reset_accelerate_state()
    try:
        return load_script(name).main(list(args))
    finally:
        reset_accelerate_state()


def shared_run(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """``make(folder)`` once per test session, even under pytest-xdist (:func:`processes.once`); ``folder`` does
    not exist before ``make`` runs, as a script's ``--output_dir``."""
    return once(tmp_path_factory, name, lambda directory: make(directory / "run")) / "run"


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


def weights(output_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(output_dir / "model.safetensors"))


def assert_bit_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def fails(name: str, argv: list[str], capsys) -> str:
    """Run the script's CLI in-process (``run_cli``, as the command line does); assert exit status 2 and return
    stderr."""
    reset_accelerate_state()
    try:
        with pytest.raises(SystemExit) as exit_info:
            run_cli(load_script(name).main, argv)
    finally:
        reset_accelerate_state()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err
    return err


def expect_error(name: str, argv: list[str], message: str, folder: Path, capsys) -> None:
    """The script refuses ``argv`` with ``message`` and leaves ``folder`` exactly as it was."""
    before = snapshot(folder)
    err = fails(name, argv, capsys)
    assert message in err, err
    assert snapshot(folder) == before
