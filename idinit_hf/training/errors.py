"""The two ways a pretraining run ends early, and how the scripts report them: one line, a non-zero exit.

* :class:`BadInputError`: the user's input (flags, data, checkpoint) is wrong; exit status 2, before anything
  is trained or written.
* :class:`TrainingStopped`: training cannot go on (a non-finite loss, a checkpoint that cannot be written);
  exit status 1, naming the step and the last complete checkpoint.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["BadInputError", "TrainingStopped", "run_cli", "loading", "error_summary"]


class BadInputError(ValueError):
    """A problem with the user's input (flags, data, checkpoint). Reported as one line, exit status 2."""


class TrainingStopped(RuntimeError):
    """Training cannot go on (a non-finite loss, a checkpoint that cannot be written). Reported as one line
    naming the step and the last complete checkpoint, exit status 1; nothing after the failure is saved."""


def run_cli(main: Callable[[Sequence[str] | None], object], argv: Sequence[str] | None = None) -> None:
    """Run a script's ``main``; a :class:`BadInputError` becomes ``<prog>: error: <message>`` and exit 2.

    A :class:`TrainingStopped` becomes the same kind of line and exit 1. Nothing else is caught: a bug in the
    code should still show its traceback.
    """
    prog = Path(sys.argv[0]).name or "pretrain"
    try:
        main(argv)
    except BadInputError as error:
        print(f"{prog}: error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    except TrainingStopped as error:
        print(f"{prog}: error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


@contextmanager
def loading(flag: str, name: str):
    """Around the load of a hub name or local path given with ``flag``: any failure (no such path, offline and
    not cached, a malformed file) becomes one :class:`BadInputError` naming the flag, instead of a traceback."""
    try:
        yield
    except BadInputError:
        raise
    except Exception as error:  # transformers and datasets raise OSError, ValueError and their own types
        raise BadInputError(f"{flag} {name}: could not be loaded ({error_summary(error)})") from None


def error_summary(error: BaseException) -> str:
    """``Type: first line of the message`` (at most 300 characters): an error from a library, in one line."""
    first = (str(error).strip().splitlines() or [""])[0][:300]
    return f"{type(error).__name__}: {first}"
