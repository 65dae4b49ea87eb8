"""``python scripts/timed_train.py TRAIN_ARGS``: train.py, then the median step time (rank 0).

Used by ``scripts/gpu_check.sh``. Lightning's ``ddp`` re-runs this script for the other
processes, so it works with ``--devices N --strategy ddp`` too. The first steps (CUDA warm-up,
cuDNN autotuning) are left out of the median.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's texture_nets

import lightning.pytorch as pl
import torch

WARMUP_STEPS = 5


class StepTimer(pl.Callback):
    """Wall time of every training step (synchronised with the GPU)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start = 0.0

    def _sync(self, pl_module: pl.LightningModule) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        self._sync(pl_module)
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        self._sync(pl_module)
        self.times.append(time.perf_counter() - self.start)

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if not trainer.is_global_zero or not self.times:
            return
        timed = self.times[WARMUP_STEPS:] or self.times
        config = pl_module.config
        print(
            f"STEP TIME {statistics.median(timed):.4f} s (median of {len(timed)} steps; "
            f"{trainer.world_size} process(es) x batch {config.batch_size}, "
            f"{config.image_size} px, precision {config.precision}, {pl_module.device})",
            flush=True,
        )


if __name__ == "__main__":
    from texture_nets.cli import train as train_cli

    sys.exit(train_cli.main(sys.argv[1:], callbacks=[StepTimer()]))
