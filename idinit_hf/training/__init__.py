"""What the three pretraining scripts share (``scripts/pretrain_{clm,mlm,vit}.py``).

The scripts read top to bottom like a lab notebook; the reusable pieces live here, one concern per module:

- :mod:`.tasks`: the task table, one row per script (its Auto class and head mapping, defaults, text or images,
  the unit of its throughput, its evaluator); everything that differs between the scripts reads it;
- :mod:`.args`: the command-line flags, built group by group (``add_*_flags``), and their validation (one clear
  error, before anything is trained or written);
- :mod:`.data`: where the data comes from (:mod:`.data.sources`), text into blocks (:mod:`.data.text`),
  ``--streaming`` (:mod:`.data.stream`), images (:mod:`.data.images`), and what the loop reads
  (:mod:`.data.train_data`: ``TrainData``, with an in-memory and a streamed implementation);
- :mod:`.tokenization`: training a byte-level BPE (CLM) or WordPiece (MLM) tokenizer on the training split;
- :mod:`.modeling`: config from flags, IDInit options, building the model;
- :mod:`.precision`: mixed precision checked on every rank, with a fallback;
- :mod:`.runtime`: the start of a run (distributed state, logs, precision, the compile check);
- :mod:`.metrics`: local ``evaluate`` modules (loaded by path: they work offline) and the evaluators;
- :mod:`.loop`: the ``Accelerator`` training loop, one path for every kind of data;
- :mod:`.checkpoints`: atomic, resumable, rotated checkpoints;
- :mod:`.throughput`: model FLOPs, device peaks, MFU;
- :mod:`.outputs`, :mod:`.plotting`, :mod:`.model_card`: the saved model, results, loss-curve PNG and model card;
- :mod:`.errors`: the two ways a run ends early.

Importing this package is cheap (it imports none of its modules); each module imports what it needs at its top.
"""
