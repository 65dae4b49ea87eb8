"""``python tests/ddp_train.py TRAIN_ARGS``: train.py with a recording callback (DDP tests).

Lightning's ``ddp`` strategy starts the other processes by re-running this script with the
same arguments, so every rank records the noise, batch and gradient of its first step, the
loss of every step and its final generator weights, to ``$DDP_RECORD_DIR/rank<R>.pt``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's texture_nets

import lightning.pytorch as pl
import torch


class RankRecord(pl.Callback):
    """What one process saw and ended with (written at the end of training)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.losses: list[float] = []
        self.noise: list[torch.Tensor] | None = None
        self.first_batch: Any = None
        self.first_grads: dict[str, torch.Tensor] | None = None

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.first_batch is None:
            config = pl_module.config
            self.first_batch = batch.detach().cpu() if torch.is_tensor(batch) else batch
            self.noise = pl_module.step_noise(
                trainer.global_step, config.batch_size, config.image_size
            )

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: Any, optimizer: Any) -> None:
        if self.first_grads is None:  # the gradient the optimizer uses (all-reduced under DDP)
            self.first_grads = {
                name: p.grad.detach().cpu().clone()
                for name, p in pl_module.generator.named_parameters()
                if p.grad is not None
            }

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.losses.append(float(outputs["loss"]))

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "global_step": trainer.global_step,
            "losses": self.losses,
            "noise": [n.cpu() for n in self.noise or []],
            "first_batch": self.first_batch,
            "first_grads": self.first_grads,
            "generator": {k: v.cpu() for k, v in pl_module.generator.state_dict().items()},
            # what checkpoints generate with: the moving average (texture default)
            "network": {k: v.cpu() for k, v in pl_module.network.state_dict().items()},
        }
        torch.save(record, self.directory / f"rank{trainer.global_rank}.pt")


if __name__ == "__main__":
    from texture_nets.cli import train as train_cli

    record_dir = Path(os.environ["DDP_RECORD_DIR"])
    sys.exit(train_cli.main(sys.argv[1:], callbacks=[RankRecord(record_dir)]))
