"""The README.md model card written next to the final model: what was trained, how it was initialized."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from idinit_hf.families import read_options

from .tasks import TASKS


def init_summary(config) -> dict[str, Any]:
    """``init_method`` and, for IDInit, every ``idinit_*`` option as the model was built with it (the
    architecture's own defaults included, e.g. BERT's embeddings)."""
    options = read_options(config)
    if options is None:
        return {"init_method": getattr(config, "init_method", None) or "default"}
    return {"init_method": "idinit", **{f"idinit_{k}": v for k, v in asdict(options).items()}}


def model_card(config, args: argparse.Namespace, data_source: str, results: Mapping[str, Any],
               script: str) -> str:
    """The card's Markdown text."""
    init = init_summary(config)
    init_rows = "\n".join(f"| `{k}` | `{v!r}` |" for k, v in init.items())
    if init["init_method"] == "idinit":
        init_text = ("The weights were initialized with **IDInit** (identity-based initialization, "
                     "[arXiv 2503.04626](https://arxiv.org/abs/2503.04626)) by `idinit_hf`, with these options:")
    else:
        init_text = "The weights were initialized with the model's **default** transformers initialization."
    metrics = "\n".join(f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |"
                        for k, v in results.items())
    flags = {k: v for k, v in sorted(vars(args).items()) if v is not None and v is not False}
    return f"""---
library_name: transformers
tags:
- idinit_hf
- {init['init_method']}-init
---

# {config.model_type} pretrained from scratch ({TASKS[args.task].title})

Trained with `{script}` of idinit_hf on {data_source}. The model loads with stock transformers
(`{config.architectures[0] if getattr(config, 'architectures', None) else config.model_type}`); the
initialization options are kept in `config.json`.

## Initialization

{init_text}

| option | value |
|---|---|
{init_rows}

## Results

| metric | value |
|---|---|
{metrics}

## Training flags

```json
{json.dumps(flags, indent=1, default=str)}
```
"""
