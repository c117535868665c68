"""Tokenizers for the language-model scripts: a pretrained one, or one trained on the training split.

A trained tokenizer is a byte-level BPE (GPT-2 style, for causal LM) or a lower-cased WordPiece (BERT style, for
masked LM), built with the ``tokenizers`` library and wrapped in ``PreTrainedTokenizerFast`` so that it saves
next to the model and reloads with ``AutoTokenizer``. It is trained on the main process only and sent to the
other ranks as JSON, so every rank tokenizes with exactly the same vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator

from accelerate.utils import broadcast_object_list
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from .errors import BadInputError, loading
from .tasks import TASKS

EOS = "<|endoftext|>"
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _batches(dataset, column: str, size: int = 1000) -> Iterator[list[str]]:
    for start in range(0, len(dataset), size):
        yield dataset[start:start + size][column]


def train_bpe(dataset, column: str, vocab_size: int):
    """A byte-level BPE ``tokenizers.Tokenizer`` with one special token, ``<|endoftext|>`` (bos = eos)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_batches(dataset, column), trainer=trainer, length=len(dataset))
    return tokenizer


def train_wordpiece(dataset, column: str, vocab_size: int):
    """A lower-cased WordPiece ``tokenizers.Tokenizer`` that wraps each text in ``[CLS] … [SEP]``, as BERT's."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(BERT_SPECIALS),
                                        show_progress=False)
    tokenizer.train_from_iterator(_batches(dataset, column), trainer=trainer, length=len(dataset))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tokenizer


def wrap(tokenizer, task: str, model_max_length: int):
    """Wrap a ``tokenizers.Tokenizer`` as a ``PreTrainedTokenizerFast`` with the task's special tokens."""
    if TASKS[task].masked:
        specials = dict(zip(("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"), BERT_SPECIALS, strict=True))
    else:
        specials = {"bos_token": EOS, "eos_token": EOS, "unk_token": EOS}
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=model_max_length, **specials)


def get_tokenizer(args, train_dataset, column: str, task: str, model_max_length: int, state, saved: str | None = None):
    """The tokenizer of the run: ``--tokenizer_name``, a tokenizer saved in the checkpoint being resumed
    (``saved``), or one trained on ``train_dataset[column]`` on the main process and broadcast to every rank.
    ``train_dataset`` may be a function that returns the dataset (called only when a tokenizer is trained)."""
    masked = TASKS[task].masked
    if args.tokenizer_name or saved:
        source = args.tokenizer_name or saved
        with loading("--tokenizer_name" if args.tokenizer_name else "the checkpoint's tokenizer", source):
            tokenizer = AutoTokenizer.from_pretrained(source)
        if masked and tokenizer.mask_token is None:
            raise BadInputError(f"tokenizer {source} has no mask token; masked LM needs one")
        if not masked and tokenizer.eos_token_id is None:
            raise BadInputError(f"tokenizer {source} has no end-of-text token; causal LM needs one")
        return tokenizer
    payload = [None]
    if state.is_main_process:
        train = train_wordpiece if masked else train_bpe
        if callable(train_dataset):
            train_dataset = train_dataset()
        payload = [train(train_dataset, column, args.vocab_size).to_str()]
    if state.num_processes > 1:
        broadcast_object_list(payload)
    return wrap(Tokenizer.from_str(payload[0]), task, model_max_length)
