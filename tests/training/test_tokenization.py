"""Tokenizers of the language-model scripts (idinit_hf/training/tokenization.py): a byte-level BPE for causal
LM, a WordPiece with [MASK] for masked LM, each wrapped so it saves and reloads with ``AutoTokenizer``."""

from __future__ import annotations

import argparse

import pytest
from datasets import Dataset
from transformers import AutoTokenizer

from idinit_hf.training.data.sources import embedded_text_documents
from idinit_hf.training.errors import BadInputError
from idinit_hf.training.tokenization import EOS, get_tokenizer, train_bpe, train_wordpiece, wrap


@pytest.fixture(scope="module")
def documents() -> Dataset:
    return Dataset.from_dict({"text": embedded_text_documents()[:5]})


def test_causal_lm_gets_a_byte_level_bpe_ending_each_text_with_eos(documents, tmp_path):
    tokenizer = wrap(train_bpe(documents, "text", 300), "clm", 64)
    assert len(tokenizer) == 300 and tokenizer.eos_token == tokenizer.bos_token == EOS
    assert tokenizer.decode(tokenizer("Tuples: (1, 2)")["input_ids"]) == "Tuples: (1, 2)"  # byte-level: lossless
    tokenizer.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path).eos_token_id == tokenizer.eos_token_id


def test_masked_lm_gets_a_wordpiece_that_wraps_each_text_in_cls_and_sep(documents):
    tokenizer = wrap(train_wordpiece(documents, "text", 300), "mlm", 64)
    ids = tokenizer("the import statement")["input_ids"]
    assert tokenizer.mask_token == "[MASK]" and tokenizer.pad_token == "[PAD]"
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id


def test_a_pretrained_tokenizer_without_the_task_s_special_token_is_refused(documents, tmp_path):
    wrap(train_bpe(documents, "text", 280), "clm", 64).save_pretrained(tmp_path)
    args = argparse.Namespace(tokenizer_name=str(tmp_path), vocab_size=300)
    with pytest.raises(BadInputError, match="has no mask token; masked LM needs one"):
        get_tokenizer(args, documents, "text", "mlm", 64, state=None)
    assert get_tokenizer(args, documents, "text", "clm", 64, state=None).eos_token == EOS
