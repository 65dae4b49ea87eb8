"""When the descriptor runs in bf16: the one place that decides (training, Gatys, compare)."""

from __future__ import annotations

import contextlib
import warnings

import torch

from texture_nets.threads import read_cpuinfo

PRECISIONS = ("auto", "bf16", "fp32")
# Lightning's Trainer precisions that training also accepts for ``precision``: "32" is all
# fp32 (= "fp32"); the mixed ones autocast the whole step (generator and descriptor).
LIGHTNING_PRECISIONS = ("32", "bf16-mixed", "16-mixed")
TRAIN_PRECISIONS = (*PRECISIONS, *LIGHTNING_PRECISIONS)


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast is fast here (CUDA with bf16, or a CPU with AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    flags = read_cpuinfo()
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_bf16(precision: str, device: torch.device) -> bool:
    """Whether ``precision`` (auto|bf16|fp32) means bf16 autocast for the descriptor."""
    if precision == "auto":
        return bf16_supported(device)
    if precision == "bf16" and device.type == "cpu" and not bf16_supported(device):
        warnings.warn(
            "precision bf16 on a CPU without bf16 instructions (AVX512-BF16/AMX): bf16 is "
            "emulated there, many times slower than fp32; use precision auto or fp32",
            stacklevel=2,
        )
    return precision == "bf16"


def descriptor_autocast(
    device: torch.device, enabled: bool
) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast around descriptor passes (Grams are taken in fp32 by the losses)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def trainer_precision(precision: str) -> str:
    """The Lightning ``Trainer(precision=...)`` for a training ``precision`` value.

    auto|bf16|fp32|32 train in fp32 (Lightning "32-true"; auto and bf16 then autocast only the
    descriptor, as ``resolve_bf16`` says); bf16-mixed and 16-mixed are Lightning's mixed
    precision over the whole training step.
    """
    return precision if precision in ("bf16-mixed", "16-mixed") else "32-true"
