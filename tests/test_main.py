"""``python -m idinit_hf SCRIPT|-m MODULE`` (idinit_hf/__main__.py): an unmodified script or module runs with
``install()`` in effect, its arguments and exit status passed through; under ``accelerate launch`` too."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from helpers import tiny_config
from processes import run_process_tree
from training.scripts_helpers import ACCELERATE, script_env

from idinit_hf.__main__ import main as idinit_main

# ---- python -m idinit_hf ----------------------------------------------------------------------------------------------

STOCK_SCRIPT = textwrap.dedent('''
    import json, sys
    import torch, transformers
    config = transformers.AutoConfig.from_pretrained(sys.argv[1])
    model = transformers.AutoModelForCausalLM.from_config(config)
    key = model.transformer.h[0].attn.c_attn.weight.t()[config.n_embd : 2 * config.n_embd]  # IDInit: K = I
    print(json.dumps({"argv": sys.argv[1:], "name": __name__, "identity": bool(torch.equal(key, torch.eye(config.n_embd)))}))
    sys.exit(int(sys.argv[2]))
''')


def run_module(*args, cwd):
    return subprocess.run([sys.executable, "-m", "idinit_hf", *args], cwd=cwd, env=script_env(), capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def stock_script(tmp_path):
    (tmp_path / "train.py").write_text(STOCK_SCRIPT)
    tiny_config("gpt2", init_method="idinit").save_pretrained(tmp_path / "config")
    return tmp_path


@pytest.mark.slow
def test_a_stock_script_gets_idinit_and_its_own_arguments(stock_script):
    result = run_module("train.py", "config", "3", "--flag", "x y", cwd=stock_script)
    assert result.returncode == 3, result.stderr[-2000:]  # the script's exit status, passed through
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"argv": ["config", "3", "--flag", "x y"], "name": "__main__", "identity": True}
    plain = subprocess.run([sys.executable, "train.py", "config", "0"], cwd=stock_script, env=script_env(),
                           capture_output=True, text=True, timeout=120)
    assert json.loads(plain.stdout.strip().splitlines()[-1])["identity"] is False  # without it: stock init


@pytest.mark.slow
def test_module_form_runs_a_module(stock_script):
    result = run_module("-m", "train", "config", "0", cwd=stock_script)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["identity"] is True


# The refusals and the help exit before anything is installed or run: main() in this process says what the
# command line gets (the subprocess tests above cover ``python -m idinit_hf`` reaching main()).
@pytest.mark.parametrize("args, message", [(["missing.py"], "no such script: missing.py"),
                                           (["-m", "no_such_module"], "no such module: no_such_module"),
                                           (["-m"], "-m needs a module name"),
                                           ([], "no script given")])
def test_a_missing_script_exits_2_naming_it(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        idinit_main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit) as exit_:
        idinit_main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "idinit_hf.install" in out and "accelerate launch -m idinit_hf" in out


@pytest.mark.slow
def test_under_accelerate_launch_on_two_processes(stock_script):
    launcher = [str(ACCELERATE), "launch"]
    env = {**script_env(), "ACCELERATE_USE_CPU": "true"}
    result = run_process_tree([*launcher, "--multi_gpu", "--num_processes", "2", "-m", "idinit_hf", "train.py",
                               "config", "0"], cwd=stock_script, env=env, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 2 and all(line["identity"] for line in lines)
