"""Small batches of real data that every machine has: CPython's pydoc_data text and scikit-learn's digits."""

import torch


def text_bytes(n_tokens: int, offset: int = 0) -> torch.Tensor:
    """``n_tokens`` UTF-8 bytes of CPython's reference prose (``pydoc_data.topics``), as token ids < 256."""
    from pydoc_data.topics import topics

    data = "\n".join(topics[key] for key in sorted(topics)).encode("utf-8")
    return torch.tensor(list(data[offset : offset + n_tokens]), dtype=torch.long)


def text_batch(batch: int, length: int, offset: int = 0) -> torch.Tensor:
    return text_bytes(batch * length, offset).view(batch, length)


def digits(n: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` of scikit-learn's real 8x8 handwritten digits in [-1, 1], shape (n, 1, 8, 8), and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.tensor(data.images[offset : offset + n], dtype=torch.float32) / 8.0 - 1.0
    return images.unsqueeze(1), torch.tensor(data.target[offset : offset + n], dtype=torch.long)
