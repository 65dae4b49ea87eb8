"""``--device`` for the one-process commands (generate.py, gatys.py, compare.py).

One convention: ``auto`` (the default) is what Lightning's ``--accelerator auto`` picks for
training (a CUDA GPU, else Apple's MPS, else the CPU); ``cpu``, ``cuda``, ``cuda:N`` and ``mps``
name a device. A device that does not exist here is a ``UserError`` with one line.
(Training takes Lightning's ``--accelerator``/``--devices`` instead: it may use several.)
"""

from __future__ import annotations

import torch

from texture_nets.errors import UserError

DEVICE_HELP = "auto (a CUDA GPU, else MPS, else the CPU), cpu, cuda, cuda:N or mps"


def auto_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(text: str) -> torch.device:
    """``--device TEXT`` -> a torch device that exists here, or a ``UserError``."""
    if text.strip().lower() == "auto":
        return auto_device()
    try:
        device = torch.device(text.strip())
    except RuntimeError as error:
        raise UserError(
            f"--device {text}: not a device name (auto, cpu, cuda, cuda:1, mps, ...)"
        ) from error
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
