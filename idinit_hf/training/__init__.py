"""What the three pretraining scripts share (``scripts/pretrain_{clm,mlm,vit}.py``).

The scripts read top to bottom like a lab notebook; the reusable pieces live here, one concern per module:

- :mod:`.args`: the command-line flags common to all scripts, and their validation (one clear error, before
  anything is trained or written);
- :mod:`.data`: the embedded default corpora, hub/local datasets, tokenization, grouping, image transforms;
- :mod:`.tokenization`: training a byte-level BPE (CLM) or WordPiece (MLM) tokenizer on the training split;
- :mod:`.modeling`: config from flags, IDInit options, building the model;
- :mod:`.precision`: mixed precision checked on every rank, with a fallback;
- :mod:`.metrics`: local ``evaluate`` modules (loaded by path: they work offline) and the evaluators;
- :mod:`.loop`: the ``Accelerator`` training loop;
- :mod:`.checkpoints`: atomic, resumable, rotated checkpoints;
- :mod:`.plotting`, :mod:`.model_card`: the loss-curve PNG and the README of the saved model.

Importing this package is cheap; the heavy libraries are imported by the modules that need them.
"""
