"""The scripts' ``--help``: every shared flag and one flag per IDInit option, exit status 0 (in-process: quick)."""

from __future__ import annotations

import pytest

from idinit_hf.options import OPTION_SPECS

from .scripts_helpers import load_script


@pytest.mark.parametrize("name", ["clm", "mlm", "vit"])
def test_help_lists_the_shared_and_init_flags(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script(name).main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--init_method", *(f"--{spec.key}" for spec in OPTION_SPECS), "--max_train_steps",
                 "--gradient_accumulation_steps", "--checkpointing_steps", "--resume_from_checkpoint",
                 "--mixed_precision_fallback", "--config_overrides", "--eval_steps"):
        assert flag in text, flag
