"""Shared test settings: offline, quiet, deterministic, and the tiny configs every model test uses."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import BertConfig, GPT2Config, ViTConfig  # noqa: E402

# Tiny models run fastest on one thread, and one thread cannot be slowed down by oversubscribing shared cores
# (two busy torch threads on one free core made single tests 10x slower). Subprocess tests set their own.
torch.set_num_threads(1)

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
DEVICES = ["cpu", "meta"] + (["cuda"] if torch.cuda.is_available() else [])


def gpt2_config(**overrides) -> GPT2Config:
    kw = dict(n_layer=2, n_embd=16, n_head=2, vocab_size=64, n_positions=32, bos_token_id=0, eos_token_id=0)
    return GPT2Config(**{**kw, **overrides})


def bert_config(**overrides) -> BertConfig:
    kw = dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, intermediate_size=64, vocab_size=64,
              max_position_embeddings=32)
    return BertConfig(**{**kw, **overrides})


def vit_config(**overrides) -> ViTConfig:
    kw = dict(num_hidden_layers=2, hidden_size=16, num_attention_heads=2, intermediate_size=64, image_size=8,
              patch_size=2, num_channels=1, num_labels=10)
    return ViTConfig(**{**kw, **overrides})


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def existing_output(tmp_path):
    """An output folder from an earlier run: a refused run must leave it exactly as it is."""
    import json

    out = tmp_path / "out"
    out.mkdir()
    (out / "all_results.json").write_text(json.dumps({"eval_loss": 1.0}))
    (out / "checkpoints" / "step_00000004").mkdir(parents=True)
    (out / "checkpoints" / "step_00000004" / "run_state.json").write_text("{}")
    return out
