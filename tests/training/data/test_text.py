"""Text → training blocks (idinit_hf/training/data/text.py): block size, packing, the masking collator, the
text of a run read whole."""

from __future__ import annotations

import pytest
import torch
from transformers import BertTokenizerFast

from idinit_hf.training.args import build_parser
from idinit_hf.training.data.text import (
    InMemoryText,
    SeededMaskingCollator,
    check_block_size,
    describe_blocks,
    group_function,
    load_text,
    tokenize_function,
)
from idinit_hf.training.data.train_data import InMemoryData
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.tokenization import train_bpe, wrap


def test_block_size_defaults_to_the_context_length_and_never_exceeds_it():
    assert check_block_size(None, 64) == 64 and check_block_size(None, 4096) == 1024
    assert check_block_size(32, 64) == 32
    with pytest.raises(BadInputError, match="above the model's context length 64"):
        check_block_size(65, 64)


def test_masking_is_a_pure_function_of_seed_epoch_and_batch():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(50)]
    tokenizer = BertTokenizerFast(tokenizer_object=None, vocab_file=None, vocab=dict(zip(vocab, range(55), strict=True)))
    examples = [{"input_ids": list(range(5, 45))}, {"input_ids": list(range(10, 50))}]
    collator = SeededMaskingCollator(tokenizer, 0.3, seed=1)
    first = collator(examples)
    torch.manual_seed(123)  # the global RNG does not matter
    assert torch.equal(collator(examples)["labels"], first["labels"])
    collator.epoch = 1
    assert not torch.equal(collator(examples)["labels"], first["labels"])
    assert (first["labels"] != -100).any()


def test_documents_are_packed_into_blocks_with_an_end_of_text_each():
    """CLM: each document gets an end-of-text token, the concatenation is cut into blocks, the tail dropped;
    labels are the inputs (the model shifts them)."""

    class Characters:
        """A tokenizer of one id per character (eos = 0)."""

        eos_token_id = 0

        def __call__(self, texts, return_special_tokens_mask, verbose):
            ids = [[ord(c) for c in text] for text in texts]
            return {"input_ids": ids, "attention_mask": [[1] * len(i) for i in ids]}

    tokens = tokenize_function(Characters(), "text", add_eos=True, special_tokens_mask=False)({"text": ["ab", "cde"]})
    assert tokens["input_ids"] == [[97, 98, 0], [99, 100, 101, 0]]
    blocks = group_function(3, add_eos=True)(tokens)
    assert blocks["input_ids"] == [[97, 98, 0], [99, 100, 101]] and blocks["labels"] == blocks["input_ids"]


def test_text_read_whole_becomes_in_memory_blocks(tmp_path):
    (tmp_path / "train.txt").write_text("the import statement\n" * 40)
    args = build_parser("clm", "").parse_args(["--output_dir", "x", "--train_file", str(tmp_path / "train.txt"),
                                               "--validation_split_percentage", "0"])
    args.task = "clm"
    text = load_text(args)
    assert isinstance(text, InMemoryText) and text.tokenizer_corpus() is text.train
    tokenizer = wrap(train_bpe(text.train, "text", 270), "clm", 64)
    train_data, validation = text.blocks(tokenizer, 8, args, None, add_eos=True, special_tokens_mask=False)
    assert isinstance(train_data, InMemoryData) and validation is None
    assert all(len(block) == 8 for block in train_data.dataset["input_ids"])
    assert describe_blocks(train_data, 8) == f"{train_data.size()} training blocks of 8 tokens"
