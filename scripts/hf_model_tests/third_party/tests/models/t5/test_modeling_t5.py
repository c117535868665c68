# hfharness: written by tools/write_seq2seq_tests.py (see its docstring): a tester of our own, transformers'
# common ModelTesterMixin for every class the Auto mappings list for 't5'.
"""Common model tests of the PyTorch t5 model (hfharness)."""

import unittest

from transformers import AutoConfig, is_torch_available
from transformers.testing_utils import require_torch, torch_device

from ...test_modeling_common import ModelTesterMixin, ids_tensor


if is_torch_available():
    import torch

    from transformers import T5ForConditionalGeneration, T5ForQuestionAnswering, T5ForSequenceClassification, T5ForTokenClassification, T5Model


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
        self.eos_token_id, self.pad_token_id, self.decoder_start_token_id = 1, 0, 0

    def get_config(self):
        return AutoConfig.for_model('t5', **dict(vocab_size=self.vocab_size, d_model=self.hidden_size, d_ff=37, d_kv=8, num_layers=self.num_hidden_layers, num_heads=self.num_attention_heads, relative_attention_num_buckets=8, eos_token_id=1, pad_token_id=0, decoder_start_token_id=0))

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
    all_model_classes = (T5ForConditionalGeneration, T5ForQuestionAnswering, T5ForSequenceClassification, T5ForTokenClassification, T5Model,) if is_torch_available() else ()
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
