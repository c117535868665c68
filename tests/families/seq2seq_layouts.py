"""Finding the encoder-decoder layouts among every sequence-to-sequence model type of the installed transformers (the
coverage tests of tests/families/test_t5.py and test_bart.py), and what a block maps its input to at init.

A model type has a layout when a tiny stock model of it holds, in every block of both stacks, nothing but that
layout's weights (and at least its attention and MLP weights), and outside the blocks nothing but its embeddings,
norms and LM head. Its norm position is read from a forward pass, not from its name: with every weight of a block's
branches at zero, a pre-LN block returns its input and a post-LN block returns ``LN(input)``.
"""

from __future__ import annotations

import re

import torch
import transformers
from torch import nn
from transformers import AutoConfig
from transformers.models.auto import modeling_auto

SEQ2SEQ_TYPES = tuple(modeling_auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES)


def tiny_seq2seq(model_type: str, example: dict, device: str = "meta") -> nn.Module | None:
    """A stock model of ``model_type`` built from a family's example config (on the meta device: the example sets only
    the family's own keys, and other model types' defaults can be large; on the CPU to run its blocks), or None where
    such a config cannot be built (multimodal configs, other fields)."""
    try:
        config = AutoConfig.for_model(model_type, **example)
        torch.manual_seed(0)
        with torch.device(device):
            return transformers.AutoModelForSeq2SeqLM.from_config(config)
    except Exception:  # audio and multimodal encoder-decoders, configs that need other fields
        return None




def holds_only(model: nn.Module, stacks: list[nn.ModuleList], allowed: set[str], required: set[str],
               outside: set[str]) -> bool:
    """Every block of ``stacks`` holds only ``allowed`` weights and all of ``required`` (names inside the block); the
    rest of the model only ``outside`` ones (its names with the blocks' indices written ``N``)."""
    in_blocks = set()
    for blocks in stacks:
        if blocks is None or not len(blocks):
            return False
        for block in blocks:
            held = {name for name, _ in block.named_parameters()}
            if not (required <= held <= allowed):
                return False
            in_blocks |= {id(p) for p in block.parameters()}
    rest = {re.sub(r"\.\d+\.", ".N.", f".{n}")[1:] for n, p in model.named_parameters() if id(p) not in in_blocks}
    return rest <= outside


@torch.no_grad()
def zero_branch_output(block: nn.Module, run) -> tuple[torch.Tensor, torch.Tensor]:
    """The input and output of ``block`` (``run(block, x)`` calls it) with every branch weight at 0 and its norms at the
    library's 1 / 0: what the block does when its branches add nothing."""
    block = block.float().eval()
    for module in block.modules():
        if isinstance(module, nn.Linear):
            module.weight.zero_()
            if module.bias is not None:
                module.bias.zero_()
    x = 3 * torch.randn(2, 5, next(block.parameters()).shape[-1], generator=torch.Generator().manual_seed(0))
    return x, run(block, x)


def norm_position(block: nn.Module, run) -> str | None:
    """``"pre"`` if the block returns its input when its branches are zero, ``"post"`` if it returns ``LN(input)``."""
    x, y = zero_branch_output(block, run)
    if torch.allclose(y, x, atol=1e-5):
        return "pre"
    if torch.allclose(y, nn.functional.layer_norm(x, x.shape[-1:]), atol=1e-4):
        return "post"
    return None


def assert_stock_default_and_stock_reload(family, model_type: str, tmp_path) -> None:
    """For one model type of ``family``: without the flag the IDInit class builds the stock weights bit for bit, and a
    model built with IDInit, saved, loads in stock transformers bit for bit."""
    import idinit_hf

    config = family.example_config(model_type, vocab_size=257)
    torch.manual_seed(0)
    want = transformers.AutoModelForSeq2SeqLM.from_config(config).state_dict()
    torch.manual_seed(0)
    got = idinit_hf.AutoModelForSeq2SeqLM.from_config(config).state_dict()
    assert sorted(got) == sorted(want) and all(torch.equal(got[k], want[k]) for k in want)
    model = idinit_hf.AutoModelForSeq2SeqLM.from_config(family.example_config(model_type, vocab_size=257,
                                                                              init_method="idinit"))
    model.save_pretrained(tmp_path)
    reloaded = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    assert type(reloaded) is getattr(transformers, type(model).__name__)  # the stock class
    saved, loaded = model.state_dict(), reloaded.state_dict()
    assert sorted(saved) == sorted(loaded) and all(torch.equal(saved[k], loaded[k]) for k in saved)
