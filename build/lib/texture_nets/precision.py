"""When the descriptor runs in bf16: the one place that decides (training, Gatys, compare)."""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "bf16", "fp32")


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast is fast here (CUDA with bf16, or a CPU with AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_bf16(precision: str, device: torch.device) -> bool:
    """Whether ``precision`` (auto|bf16|fp32) means bf16 autocast for the descriptor."""
    if precision == "auto":
        return bf16_supported(device)
    return precision == "bf16"


def descriptor_autocast(
    device: torch.device, enabled: bool
) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast around descriptor passes (Grams are taken in fp32 by the losses)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
