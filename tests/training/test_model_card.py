"""The README.md model card of a saved model (idinit_hf/training/model_card.py)."""

from __future__ import annotations

import argparse
import json

from transformers import GPT2Config

from idinit_hf.training.model_card import init_summary, model_card


def test_model_card_states_the_init_method_and_options():
    config = GPT2Config(n_layer=2, init_method="idinit", idinit_tau=0.5)
    args = argparse.Namespace(task="clm", output_dir="out", seed=42)
    card = model_card(config, args, "pydoc", {"eval_loss": 1.25}, "scripts/pretrain_clm.py")
    assert "**IDInit**" in card and "| `idinit_tau` | `0.5` |" in card and "| eval_loss | 1.25 |" in card
    assert init_summary(GPT2Config()) == {"init_method": "default"}
    json.dumps(init_summary(config))  # all_results.json takes it as is
