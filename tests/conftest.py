"""Shared test settings: offline, quiet, deterministic, and the tiny configs every model test uses."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import BertConfig, GPT2Config, ViTConfig  # noqa: E402

from idinit_hf.families import family_for  # noqa: E402 (the tiny configs are the registry's examples)

# Tiny models run fastest on one thread, and one thread cannot be slowed down by oversubscribing shared cores
# (two busy torch threads on one free core made single tests 10x slower). Subprocess tests set their own.
torch.set_num_threads(1)

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
DEVICES = ["cpu", "meta"] + (["cuda"] if torch.cuda.is_available() else [])


def gpt2_config(**overrides) -> GPT2Config:
    return family_for(GPT2Config()).example_config(**overrides)


def bert_config(**overrides) -> BertConfig:
    return family_for(BertConfig()).example_config(**overrides)


def vit_config(**overrides) -> ViTConfig:
    return family_for(ViTConfig()).example_config(**overrides)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
