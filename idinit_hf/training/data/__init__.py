"""Data for the pretraining scripts, one module per concern:

- :mod:`.sources`: where the raw data comes from (a hub dataset, local files, the embedded default), read whole
  with a validation split or as a stream; one error for a file that cannot be read;
- :mod:`.text`: text columns, tokenizing and packing documents into blocks, the masking collator, and the text
  of a run (:func:`~.text.load_text`: read whole or streamed);
- :mod:`.stream`: ``--streaming``: each process's shard of documents, packed on the fly with a resumable
  position;
- :mod:`.images`: image folders, labels, the image processor and transform;
- :mod:`.train_data`: what the training loop reads, :class:`~.train_data.TrainData`, and its in-memory
  implementation (the streamed one is :class:`~.stream.StreamedData`).

Nothing is imported here: ``from idinit_hf.training.data.text import load_text`` loads only what it needs.
"""
