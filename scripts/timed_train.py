"""``python scripts/timed_train.py TRAIN_ARGS``: train.py, then the median step time (rank 0),
timed by the benchmarks' ``StepTimer`` (end of one step to the end of the next).

Used by ``scripts/gpu_check.sh``. Lightning's ``ddp`` re-runs this script for the other
processes, so it works with ``--devices N --strategy ddp`` too. The first steps (CUDA warm-up,
cuDNN autotuning) are left out of the median.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's texture_nets

import lightning.pytorch as pl

from benchmarks.common import StepTimer

WARMUP_STEPS = 5


class StepTimeReport(StepTimer):
    """The step timer, printing the median step time at the end of training (rank 0)."""

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

    sys.exit(train_cli.main(sys.argv[1:], callbacks=[StepTimeReport()]))
