"""What the tests that start processes share: a free port, a run that stops every process it started when it times
out, and work done once per test session under pytest-xdist.

Imports nothing heavy: the multi-process workers (``tests/workers/``) and the script tests both use it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on now, for a multi-process run's rendezvous: tests running in parallel
    (pytest-xdist), and other engineers' tests on this machine, must not share torch's default port 29500."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_process_tree(command: Sequence[str], *, timeout: float, **popen) -> subprocess.CompletedProcess:
    """``subprocess.run(command, capture_output=True, text=True, timeout=timeout, **popen)``, except that a run that
    times out is stopped with every process it started before ``TimeoutExpired`` (carrying the output so far) is
    raised.

    torchrun and ``accelerate launch`` start each worker in a session of its own, so the plain timeout, which kills
    the launcher alone, left the workers running: holding the output pipes and spending the cores the rest of the
    suite needs.
    """
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stdout, stderr = _stop(process)
            raise subprocess.TimeoutExpired(command, timeout, output=stdout, stderr=stderr) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _stop(launcher: subprocess.Popen) -> tuple[str, str]:
    """Stop ``launcher`` and every process below it; return the output they wrote.

    SIGTERM makes a torch launcher stop its workers itself (SIGTERM, then SIGKILL after its 30 s grace); whatever is
    left after 45 s is killed here, the workers included, in case the launcher itself is stuck.
    """
    workers = _descendants(launcher.pid)
    launcher.terminate()
    try:
        return launcher.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        for pid in [launcher.pid, *workers]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return launcher.communicate()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; elsewhere none, and :func:`_stop` relies on the launcher)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def once(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """The directory ``name``, filled by ``make(directory)`` once per test session, also under pytest-xdist.

    A module-scoped fixture runs in every xdist worker that runs one of the module's tests: each launch or training
    run would run twice, on the same 2 cores. The workers share the session's temporary directory and take turns on
    a file lock (pytest-xdist's recipe): the first fills the directory, the others wait (leaving it the cores) and
    read it. The directory is the tests' to read, never to write.
    """
    from filelock import FileLock  # the dev extra (pyproject.toml); also a dependency of huggingface_hub

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's directory, shared by the workers
    path = root / f"once-{name}"
    with FileLock(f"{path}.lock"):
        if not (path / ".done").exists():  # a failed run is retried, and fails, in the next worker too
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            make(path)
            (path / ".done").touch()
    return path
