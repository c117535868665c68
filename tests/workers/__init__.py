"""Scripts that the multi-process tests launch with ``torch.distributed.run``, and what they share with the tests."""
