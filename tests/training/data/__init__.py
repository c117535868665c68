"""Tests of ``idinit_hf/training/data/``, one ``test_<module>.py`` per module."""
