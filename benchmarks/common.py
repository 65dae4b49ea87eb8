"""Shared helpers of the benchmark scripts: where the data and results live, what machine ran."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def data_root() -> Path:
    """The shared image folder: ``$TEXTURE_NETS_DATA`` or ``../shared/data`` beside the repo."""
    root = Path(os.environ.get("TEXTURE_NETS_DATA", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        raise SystemExit(f"image data not found at {root}; set TEXTURE_NETS_DATA")
    return root


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    summary = (
        f"Machine: {cpu}, {os.cpu_count()} logical cores, {device}; "
        f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads."
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": device,
        "torch": torch.__version__,
        "summary": summary,
    }
