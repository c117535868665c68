"""Loss-curve plots (matplotlib, headless ``Agg`` backend), from ``log.jsonl`` records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def curves(records: Sequence[Mapping[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """``{"train": (steps, losses), "eval": (steps, eval_losses)}``; a step logged twice (a resumed run) keeps
    its last value."""
    out = {}
    for kind, key in (("train", "loss"), ("eval", "eval_loss")):
        by_step = {r["step"]: r[key] for r in records if r.get("kind") == kind and key in r}
        steps = sorted(by_step)
        out[kind] = (steps, [by_step[s] for s in steps])
    return out


def plot_loss_curves(runs: Mapping[str, Sequence[Mapping[str, Any]]], path: str | Path, title: str = "") -> Path:
    """One figure, one colour per run: training loss (thin line) and validation loss (markers).

    ``runs`` maps a label (e.g. ``"idinit"``) to that run's log records.
    """
    import matplotlib  # here: the headless backend must be chosen before pyplot is first imported

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for index, (label, records) in enumerate(runs.items()):
        color = f"C{index}"
        data = curves(records)
        if data["train"][0]:
            axis.plot(*data["train"], color=color, alpha=0.6, linewidth=1, label=f"{label} train")
        if data["eval"][0]:
            axis.plot(*data["eval"], color=color, marker="o", linewidth=2, label=f"{label} validation")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss (nats)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
