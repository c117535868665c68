"""Shared test settings: offline, quiet, deterministic; and the two tiers (helpers shared by test modules live in
``helpers.py``).

Tiers: ``pytest -m "not slow"`` is the quick tier (every test function; measured 20–22 s on 2 idle cores with ``-n 2``,
of which each worker spends 5 s collecting, most of it importing transformers' modeling code; the goal is 30 s);
``pytest -n 2`` is the full suite (measured 179–189 s on 2 idle cores; the goal is 5 minutes; most of it is the Python
processes that the launch, fault and command-line tests start, and 100 CPU-autocast steps in bf16 / fp16). Both take
about twice as long while benchmarks share the cores (42–56 s and 349–436 s were measured so in earlier sittings).
``slow`` marks what trains, starts processes, runs a script or a benchmark, and, set here in
:func:`pytest_collection_modifyitems`, the cases of a registry-wide parametrized test (a ``family`` or ``name``
parameter that is a family of the registry) for every family outside ``helpers.REPRESENTATIVES`` (one family per
layout); a sweep over the model types a family covers marks its later model types itself
(``helpers.model_type_sweep``): the quick tier checks every property on every layout, the full suite on every family
and model type. Every test function keeps at least one case in the quick tier: one parametrized over
non-representatives only (as in the per-layout modules of ``tests/families/``) keeps its first.
"""

import os
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny models run fastest on one thread, and one thread cannot be slowed down by oversubscribing shared cores
# (two busy torch threads on one free core made single tests 10x slower). Subprocess tests set their own.
torch.set_num_threads(1)

#: Parameters that name a family of the registry in registry-wide parametrized tests.
FAMILY_PARAMETERS = ("family", "name")


def family_outside_the_representatives(item: pytest.Item) -> str | None:
    """The registry family a case is parametrized with, when it is not a representative; else None."""
    # imported here, not at the top: under xdist the controller process loads this file too but collects nothing,
    # and importing idinit_hf there would delay the start of the workers by seconds
    from helpers import NAMES, REPRESENTATIVES

    params = getattr(getattr(item, "callspec", None), "params", {})
    for key in FAMILY_PARAMETERS:
        value = params.get(key)
        if isinstance(value, str) and value in NAMES and value not in REPRESENTATIVES:
            return value
    return None


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def heaviest_modules_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: the modules whose tests are most often marked ``slow`` in their source (the ones
    that start processes, train or run scripts) first, each module's tests together and in their own order.

    Why: ``pytest -n 2`` hands tests out in collection order, which is alphabetical, so the script tests of
    ``tests/training/`` (a compile of tens of seconds among them) came last and one worker ran them while the other
    sat idle; started first, the thousands of small tests fill in behind them."""
    slow, total, first_seen = Counter(), Counter(), {}
    for index, item in enumerate(items):
        module = module_of(item)
        slow[module] += bool(item.get_closest_marker("slow"))
        total[module] += 1
        first_seen.setdefault(module, index)
    # the share of a module's tests marked slow: 1 where every test starts a process (a module-wide mark)
    items.sort(key=lambda item: (-slow[module_of(item)] / total[module_of(item)], first_seen[module_of(item)]))


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` the cases of non-representative families, keeping one case of every test function quick; run
    the heaviest modules first (:func:`heaviest_modules_first`)."""
    heaviest_modules_first(items)
    outside = {id(item) for item in items
               if not item.get_closest_marker("slow") and family_outside_the_representatives(item) is not None}
    functions = {item.nodeid.split("[")[0] for item in items if id(item) not in outside}  # ones with a quick case
    for item in items:
        if id(item) not in outside:
            continue
        function = item.nodeid.split("[")[0]
        if function in functions:
            item.add_marker(pytest.mark.slow)
        else:
            functions.add(function)  # its first case stays in the quick tier


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
