"""Run a pretraining script in this process and kill it with SIGKILL at a chosen moment.

    python tests/training/kill_worker.py WHEN STEP SCRIPT [script flags ...]

WHEN is ``after-step`` (right after optimizer step STEP is logged: between two checkpoints) or ``while-saving``
(while the checkpoint of step STEP is being written: accelerate has put the model, optimizer and RNG states in
the temporary folder, the folder is not yet complete). SIGKILL cannot be caught, so nothing is flushed or
cleaned up: what is on disk afterwards is what a crash, an OOM kill or a pre-empted node leaves. The moment is
chosen by wrapping a function, not by timing, so the test is deterministic; the scripts carry no test hooks.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys

import accelerate

from idinit_hf.training import loop
from idinit_hf.training.checkpoints import checkpoint_name


def kill() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after_step(step: int) -> None:
    write = loop.RunLog.write

    def write_then_kill(self, record):
        write(self, record)
        if record.get("kind") == "train" and record["step"] == step:
            kill()

    loop.RunLog.write = write_then_kill


def kill_while_saving(step: int) -> None:
    save_state = accelerate.Accelerator.save_state

    def save_then_kill(self, output_dir=None, **kwargs):
        result = save_state(self, output_dir, **kwargs)
        if os.path.basename(str(output_dir)) == f".tmp-{checkpoint_name(step)}":
            kill()
        return result

    accelerate.Accelerator.save_state = save_then_kill


if __name__ == "__main__":
    when, step, script, *flags = sys.argv[1:]
    {"after-step": kill_after_step, "while-saving": kill_while_saving}[when](int(step))
    sys.argv = [script, *flags]
    runpy.run_path(script, run_name="__main__")
