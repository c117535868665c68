"""Tests of ``idinit_hf/training/`` (one ``test_<module>.py`` per module, ``data/`` per module of the data
package) and of the pretraining scripts (``test_scripts_*.py``). Shared helpers: :mod:`.scripts_helpers`."""
