"""The ``accelerate launch`` configurations the docs point to (configs/accelerate/)."""

from __future__ import annotations

import json
from pathlib import Path

from accelerate.commands.config.config_args import load_config_from_file


def test_accelerate_config_files_load():
    """Every file in configs/accelerate parses with accelerate's own loader, with the settings it claims."""
    folder = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
    expected = {"cpu_1proc": ("NO", "no", 1), "cpu_2proc": ("MULTI_GPU", "no", 2), "gpu_1": ("NO", "bf16", 1),
                "multi_gpu_bf16": ("MULTI_GPU", "bf16", 4), "multi_gpu_fp16": ("MULTI_GPU", "fp16", 4),
                "fsdp": ("FSDP", "bf16", 4), "deepspeed_zero3": ("DEEPSPEED", "bf16", 4)}
    assert sorted(p.stem for p in folder.glob("*.yaml")) == sorted(expected)
    for name, (kind, precision, processes) in expected.items():
        config = load_config_from_file(str(folder / f"{name}.yaml"))
        assert (config.distributed_type.value, config.mixed_precision, config.num_processes) == (
            kind, precision, processes), name
    # cpu_2proc must not set use_cpu: with it `accelerate launch` starts one process (docs/scripts.md)
    assert load_config_from_file(str(folder / "cpu_2proc.yaml")).use_cpu is False
    json.loads((folder / "deepspeed_zero3.json").read_text())
