"""``python -m idinit_hf SCRIPT [ARGS...]``: run an unmodified training script with ``init_method="idinit"`` honoured.

    python -m idinit_hf run_clm.py --config_name ./my-config --output_dir out ...
    python -m idinit_hf -m my_package.train --flag ...
    accelerate launch -m idinit_hf train.py ...           # every process runs the script the same way

:func:`idinit_hf.install` runs first, so transformers' own Auto classes build IDInit models wherever the config
says ``init_method="idinit"`` (and stock models otherwise); then the script runs as ``python SCRIPT ARGS...`` would
run it: ``sys.argv`` is ``[SCRIPT, *ARGS]``, ``__name__`` is ``"__main__"``, the script's folder is first on
``sys.path``, and its exit status is passed through.
"""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

USAGE = "usage: python -m idinit_hf SCRIPT [ARGS...]  |  python -m idinit_hf -m MODULE [ARGS...]"


def main(argv: list[str]) -> None:
    if not argv:
        print(f"{USAGE}\npython -m idinit_hf: error: no script given", file=sys.stderr)
        raise SystemExit(2)
    if argv[0] in ("-h", "--help"):
        print(f"{USAGE}\n\n{__doc__.strip()}")
        raise SystemExit(0)
    if argv[0] == "-m":
        if len(argv) < 2:
            print(f"{USAGE}\npython -m idinit_hf: error: -m needs a module name", file=sys.stderr)
            raise SystemExit(2)
        target, args, as_module = argv[1], argv[2:], True
        if importlib.util.find_spec(target) is None:
            print(f"python -m idinit_hf: error: no such module: {target}", file=sys.stderr)
            raise SystemExit(2)
    else:
        target, args, as_module = argv[0], argv[1:], False
        if not Path(target).is_file():
            print(f"python -m idinit_hf: error: no such script: {target}", file=sys.stderr)
            raise SystemExit(2)

    import idinit_hf

    idinit_hf.install()
    if as_module:
        sys.argv = [target, *args]  # runpy sets argv[0] to the module's file, as python -m does
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *args]
        sys.path.insert(0, str(Path(target).resolve().parent))
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
