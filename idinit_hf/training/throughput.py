"""How well the hardware is used: model FLOPs per token, the peak of a device, and the MFU.

Model FLOPs per token follow the PaLM / nanoGPT estimate (PaLM appendix B; nanoGPT ``estimate_mfu``):

    flops_per_token = 6 · N + 12 · n_layer · d_model · seq

``N`` counts the parameters that multiply activations: every parameter except the embedding *lookup tables*
(token, position and token-type embeddings, ViT's position embedding and [CLS]/mask tokens). A token embedding
tied to the output head is counted once, as the head (its matmul is real work). ``6 · N`` is the forward (2) and
backward (4) matmul work; ``12 · n_layer · d_model · seq`` is the attention scores and their weighted sum
(forward and backward). These are *model* FLOPs: the recomputation of ``--gradient_checkpointing`` is not
counted, so MFU stays comparable with and without it.

An image's FLOPs (:func:`flops_per_image`): a patch transformer's (ViT, DINOv2, BEiT) are those of its tokens, the
patches and the class token, by the estimate above; a convolutional network's (ResNet, RegNet, ConvNeXt) are counted
on one image by ``torch.utils.flop_counter`` (forward), times 3 for the backward's twice-the-forward work.

MFU = model FLOPs per second of one process / the peak dense FLOP/s of its device. The peak comes from
``--peak_tflops``, else from :data:`PEAK_TFLOPS` (bf16 dense tensor-core numbers of the vendors' data sheets,
fp16 for cards without bf16) matched against ``torch.cuda.get_device_name``; on a CPU, or a card not in the
table, it is unknown and so is the MFU.
"""

from __future__ import annotations

from typing import Any

import torch

UNKNOWN = "unknown"

#: (substring of torch.cuda.get_device_name, peak dense bf16 TFLOP/s; fp16 where the card has no bf16).
#: Checked in order: the more specific names come first ("H100 PCIe" before "H100", "A100" before "A10").
PEAK_TFLOPS: tuple[tuple[str, float], ...] = (
    ("GH200", 989.0),
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),  # SXM
    ("H800", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("A10G", 125.0),
    ("A10", 125.0),
    ("A6000", 155.0),  # RTX A6000
    ("RTX 4090", 165.0),
    ("RTX 3090", 71.0),
    ("V100", 125.0),  # fp16: no bf16
    ("T4", 65.0),  # fp16: no bf16
)


def embedding_tables(model: torch.nn.Module) -> set[int]:
    """``id`` of every parameter that is only looked up, never multiplied: the weights of ``nn.Embedding``
    modules (unless tied to the output head) and position / [CLS] / mask parameters (ViT)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    head_weight = getattr(head, "weight", None)
    tables = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    tables |= {id(p) for name, p in model.named_parameters()
               if name.rsplit(".", 1)[-1] in ("position_embeddings", "cls_token", "mask_token")}
    tables.discard(id(head_weight))
    return tables


def matmul_parameters(model: torch.nn.Module) -> int:
    """``N`` of the FLOPs estimate: parameters (each counted once) minus the embedding lookup tables."""
    tables = embedding_tables(model)
    return sum(p.numel() for p in model.parameters() if id(p) not in tables)


def flops_per_token(model: torch.nn.Module, seq_len: int) -> float:
    """Training FLOPs per token of ``model`` on sequences of ``seq_len`` tokens: 6·N + 12·n_layer·d·seq."""
    config = model.config
    layers, width = config.num_hidden_layers, config.hidden_size  # GPT-2 maps n_layer / n_embd onto these
    return 6.0 * matmul_parameters(model) + 12.0 * layers * width * seq_len


def device_peak_tflops(device: torch.device | str) -> float | None:
    """The table's peak for this device, or None (CPU, or a card that is not in :data:`PEAK_TFLOPS`)."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return peak_for_name(name)


def peak_for_name(name: str) -> float | None:
    """The peak TFLOP/s of the first :data:`PEAK_TFLOPS` entry whose substring is in ``name``."""
    for key, tflops in PEAK_TFLOPS:
        if key.lower() in name.lower():
            return tflops
    return None


def mfu(flops_per_unit: float, units_per_second_per_process: float, peak_tflops: float | None) -> float | str:
    """Model FLOPs utilisation of one process (a fraction), or ``"unknown"`` without a peak or a FLOPs count."""
    if not peak_tflops or not flops_per_unit:
        return UNKNOWN
    return flops_per_unit * units_per_second_per_process / (peak_tflops * 1e12)


def speed_summary(unit: str, total_per_second: float, num_processes: int, flops_per_unit: float,
                  peak_tflops: float | None) -> dict[str, Any]:
    """Throughput in total and per process, model FLOPs per unit, the peak and the MFU (what the logs and
    ``all_results.json`` record). ``unit`` is ``"tokens"`` or ``"images"``."""
    per_process = total_per_second / max(num_processes, 1)
    value = mfu(flops_per_unit, per_process, peak_tflops)
    return {f"{unit}_per_second": round(total_per_second, 1),
            f"{unit}_per_second_per_process": round(per_process, 1),
            f"flops_per_{unit[:-1]}": flops_per_unit,
            "peak_tflops": peak_tflops if peak_tflops else UNKNOWN,
            "mfu": round(value, 4) if isinstance(value, float) else value}


def format_mfu(value: float | str) -> str:
    """For the progress bar: ``"31.2%"`` or ``"unknown"``."""
    return f"{100 * value:.1f}%" if isinstance(value, float) else value


def flops_per_image(model: torch.nn.Module, side: int) -> float:
    """Training FLOPs per ``side x side`` image: the tokens' (:func:`flops_per_token`) for a patch transformer (a
    config with ``patch_size``, ``num_hidden_layers`` and ``hidden_size``: patches plus the class token), else 3 x the
    forward FLOPs ``torch.utils.flop_counter`` counts on one image (convolutional networks), in eval mode (a batch
    norm cannot normalize one value per channel in training)."""
    config = model.config
    if all(hasattr(config, key) for key in ("patch_size", "num_hidden_layers", "hidden_size")):
        tokens = (side // config.patch_size) ** 2 + 1
        return flops_per_token(model, tokens) * tokens
    from torch.utils.flop_counter import FlopCounterMode

    parameter = next(model.parameters())
    image = torch.zeros(1, config.num_channels, side, side, device=parameter.device, dtype=parameter.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(pixel_values=image)
    finally:
        model.train(was_training)
    return 3.0 * counter.get_total_flops()
