"""Write model-test modules for the encoder-decoders of idinit_hf's registry (tests/models/<type>/test_modeling_<type>.py).

No 5.x copy of transformers' per-model seq2seq test files was fetched (the stored ones are 80 kB each, mostly 4.x),
so these modules are written here: a small model tester in the shape of transformers' own Bart/T5 testers (tiny
config, random ids with an EOS at the end, attention masks) and a test class that mixes in transformers' common
``ModelTesterMixin`` (the sdist's, verbatim) for every class the Auto mappings list for the type. The common tests
are transformers'; only the tester (config and inputs) is ours. Run: python tools/write_seq2seq_tests.py
"""

from pathlib import Path

from transformers.models.auto import modeling_auto

ROOT = Path(__file__).resolve().parent.parent / "third_party" / "tests" / "models"

T5_LIKE = ("t5", "mt5", "umt5")
BART_LIKE = ("bart", "marian", "plbart", "mvp", "mbart", "pegasus", "blenderbot", "m2m_100")
# blenderbot-small: a hyphen is no Python package name, and run.py finds a module by the model type
MAPPINGS = ("MODEL_MAPPING_NAMES", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES",
            "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES",
            "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES")

TEMPLATE = '''# hfharness: written by tools/write_seq2seq_tests.py (see its docstring): a tester of our own, transformers'
# common ModelTesterMixin for every class the Auto mappings list for {t!r}.
"""Common model tests of the PyTorch {t} model (hfharness)."""

import unittest

from transformers import AutoConfig, is_torch_available
from transformers.testing_utils import require_torch, torch_device

from ...test_modeling_common import ModelTesterMixin, ids_tensor


if is_torch_available():
    import torch

    from transformers import {imports}


class Seq2SeqModelTester:
    def __init__(self, parent, batch_size=13, encoder_seq_length=7, decoder_seq_length=9, vocab_size=99,
                 hidden_size=32, num_hidden_layers=2, num_attention_heads=4, is_training=True):
        self.parent = parent
        self.batch_size = batch_size
        self.encoder_seq_length = encoder_seq_length
        self.decoder_seq_length = decoder_seq_length
        self.seq_length = decoder_seq_length
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.is_training = is_training
        self.eos_token_id, self.pad_token_id, self.decoder_start_token_id = {ids}

    def get_config(self):
        return AutoConfig.for_model({t!r}, **{config})

    def prepare_config_and_inputs(self):
        input_ids = ids_tensor([self.batch_size, self.encoder_seq_length], self.vocab_size).clamp(3)
        input_ids[:, -1] = self.eos_token_id  # every sequence ends in one EOS (sequence classification reads it)
        decoder_input_ids = ids_tensor([self.batch_size, self.decoder_seq_length], self.vocab_size).clamp(3)
        inputs = dict(input_ids=input_ids, decoder_input_ids=decoder_input_ids,
                      attention_mask=torch.ones_like(input_ids), decoder_attention_mask=torch.ones_like(decoder_input_ids))
        return self.get_config(), inputs

    def prepare_config_and_inputs_for_common(self):
        return self.prepare_config_and_inputs()


@require_torch
class Seq2SeqModelTest(ModelTesterMixin, unittest.TestCase):
    all_model_classes = ({classes},) if is_torch_available() else ()
    is_encoder_decoder = True
    test_pruning = False
    test_missing_keys = False

    def setUp(self):
        self.model_tester = Seq2SeqModelTester(self)

    def test_forward_on_every_class(self):
        config, inputs = self.model_tester.prepare_config_and_inputs_for_common()
        for model_class in self.all_model_classes:
            model = model_class(config).to(torch_device).eval()
            with torch.no_grad():
                model(**inputs)
'''


def config_of(t: str) -> tuple[str, str]:
    if t in T5_LIKE:
        return ("1, 0, 0", "dict(vocab_size=self.vocab_size, d_model=self.hidden_size, d_ff=37, d_kv=8, "
                "num_layers=self.num_hidden_layers, num_heads=self.num_attention_heads, "
                "relative_attention_num_buckets=8, eos_token_id=1, pad_token_id=0, decoder_start_token_id=0)")
    return ("2, 1, 2", "dict(vocab_size=self.vocab_size, d_model=self.hidden_size, encoder_layers=self.num_hidden_layers, "
            "decoder_layers=self.num_hidden_layers, encoder_attention_heads=self.num_attention_heads, "
            "decoder_attention_heads=self.num_attention_heads, encoder_ffn_dim=37, decoder_ffn_dim=37, "
            "max_position_embeddings=64, eos_token_id=2, pad_token_id=1, bos_token_id=0, decoder_start_token_id=2)")


def main():
    for t in (*T5_LIKE, *BART_LIKE):
        classes = sorted({getattr(modeling_auto, m)[t] for m in MAPPINGS if t in getattr(modeling_auto, m)})
        ids, config = config_of(t)
        folder = ROOT / t
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").touch()
        (folder / f"test_modeling_{t}.py").write_text(TEMPLATE.format(
            t=t, imports=", ".join(classes), classes=", ".join(classes), ids=ids, config=config))
        print(t, classes)


if __name__ == "__main__":
    main()
