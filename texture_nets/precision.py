"""When the descriptor runs in bf16: the one place that decides (training, Gatys, compare)."""

from __future__ import annotations

import contextlib
import functools
import os
import time
import warnings

import torch
from torch import Tensor

from texture_nets.errors import UserError
from texture_nets.threads import read_cpuinfo

PRECISIONS = ("auto", "bf16", "fp32")
# Training also takes "bf16-descriptor" (only the descriptor in bf16: what auto and bf16 meant
# before the generator joined them, docs/scaling.md) and Lightning's Trainer precisions: "32"
# is all fp32 (= "fp32"); the mixed ones autocast the whole step (generator and descriptor).
DESCRIPTOR_ONLY = "bf16-descriptor"
LIGHTNING_PRECISIONS = ("32", "bf16-mixed", "16-mixed")
TRAIN_PRECISIONS = (*PRECISIONS, DESCRIPTOR_ONLY, *LIGHTNING_PRECISIONS)
# what --help shows: three words, plus Lightning's mixed modes where they differ (a GPU's fp16);
# "32" (= fp32) and bf16-descriptor stay accepted
SHOWN_TRAIN_PRECISIONS = (*PRECISIONS, "bf16-mixed", "16-mixed")


# what inference's ``auto`` means when set: fp32 makes every machine render the same pixels
# (the test suite sets it; bf16 is measured and chosen only where a machine has it)
PRECISION_ENV = "TEXTURE_NETS_PRECISION"


def check_precision(value: str) -> str:
    """An inference precision (``tn.load(..., precision=)``): one of ``PRECISIONS``, else a
    ``UserError``."""
    if value not in PRECISIONS:
        raise UserError(f"precision {value!r}: one of {', '.join(PRECISIONS)}")
    return value


def inference_precision(value: str) -> str:
    """``value`` checked, with ``auto`` replaced by ``$TEXTURE_NETS_PRECISION`` if set."""
    if check_precision(value) == "auto" and os.environ.get(PRECISION_ENV):
        return check_precision(os.environ[PRECISION_ENV].strip().lower())
    return value


def normalize_precision(text: str) -> str:
    """A training precision as given on the command line -> its one spelling (``32`` is
    ``fp32``); anything else is an ``argparse`` error listing the shown words."""
    import argparse

    value = text.strip().lower()
    value = "fp32" if value in ("32", "32-true", "float32") else value
    if value not in TRAIN_PRECISIONS:
        raise argparse.ArgumentTypeError(
            f"invalid choice {text!r} (choose from {', '.join(SHOWN_TRAIN_PRECISIONS)})"
        )
    return value


def default_device() -> str:
    """The device when none is given (``--device``'s default, ``texture_nets.load``): the GPU
    when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def parse_device(text: str) -> torch.device:
    """``--device``: ``auto`` (``default_device``) or a torch device that exists here
    (``cpu``, ``cuda``, ``cuda:N``, ``mps``); anything else is a ``UserError``."""
    text = text.strip()
    if text.lower() == "auto":
        return torch.device(default_device())
    try:
        device = torch.device(text)
    except RuntimeError as error:
        raise UserError(f"--device {text}: not a device name (cpu, cuda, cuda:1, ...)") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {text}: CUDA is not available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(
                f"--device {text}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {text}: MPS is not available here; use --device cpu")
    return device


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast is fast here (CUDA with bf16, or a CPU with AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)  # emulated is slow
    if device.type != "cpu":
        return False
    flags = read_cpuinfo()
    return " avx512_bf16" in flags or " amx_bf16" in flags


def bf16_fast(device: torch.device) -> bool:
    """Whether bf16 pays here: supported, and on a CPU measurably faster than fp32 (some CPUs
    have the instructions and still run bf16 convolutions slower: docs/scaling.md)."""
    if not bf16_supported(device):
        return False
    return device.type != "cpu" or _cpu_bf16_speedup() >= BF16_MIN_SPEEDUP


BF16_MIN_SPEEDUP = 1.2  # bf16 must beat fp32 by this much to be worth its rounding


@functools.cache
def _cpu_bf16_speedup() -> float:
    """fp32 time / bf16 time of a descriptor-like convolution (64 channels, 3x3, 64x64,
    channels-last), best of 5 each: about 30 ms, once per process."""
    times = {}
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(1, 64, 64, 64, dtype=dtype).contiguous(memory_format=torch.channels_last)
        w = torch.randn(64, 64, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            torch.nn.functional.conv2d(x, w, padding=1)  # warm-up (oneDNN picks a kernel)
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                torch.nn.functional.conv2d(x, w, padding=1)
                best = min(best, time.perf_counter() - start)
        times[dtype] = best
    return times[torch.float32] / times[torch.bfloat16]


def resolve_bf16(precision: str, device: torch.device) -> bool:
    """Whether ``precision`` (auto|bf16|fp32|bf16-descriptor) means bf16 autocast for the
    descriptor: auto takes bf16 where it is fast (``bf16_fast``)."""
    if precision == DESCRIPTOR_ONLY:
        precision = "bf16"
    if precision == "auto":
        return bf16_fast(device)
    if precision == "bf16" and device.type == "cpu" and not bf16_supported(device):
        warnings.warn(
            "precision bf16 on a CPU without bf16 instructions (AVX512-BF16/AMX): bf16 is "
            "emulated there, many times slower than fp32; use precision auto or fp32",
            stacklevel=2,
        )
    return precision == "bf16"


def generator_bf16(precision: str, descriptor_bf16: bool) -> bool:
    """Whether training runs the generator under bf16 autocast, given the descriptor's
    decision (``resolve_bf16``): with it for auto and bf16 (weights, Adam and the losses stay
    fp32), not for bf16-descriptor."""
    return precision in ("auto", "bf16") and descriptor_bf16


def bf16_autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast around descriptor or generator passes (Grams and losses stay fp32)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def trainer_precision(precision: str) -> str:
    """The Lightning ``Trainer(precision=...)`` for a training ``precision`` value.

    auto|bf16|bf16-descriptor|fp32|32 keep fp32 weights (Lightning "32-true"; the module
    autocasts the descriptor and the generator as ``resolve_bf16`` and
    ``generator_bf16`` say); bf16-mixed and 16-mixed are Lightning's mixed precision
    over the whole training step.
    """
    return precision if precision in ("bf16-mixed", "16-mixed") else "32-true"


def fp32_region(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """No autocast inside (losses, Grams and scores stay fp32 under mixed precision)."""
    return torch.autocast(device.type, enabled=False)


def at_least_fp32(tensor: Tensor) -> Tensor:
    """bf16/fp16 (a generator under autocast) -> fp32; fp32 and fp64 as they are."""
    return tensor.float() if tensor.is_floating_point() and tensor.element_size() < 4 else tensor
