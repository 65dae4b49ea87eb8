"""Data for training.

Texture mode has no data: every step draws its noise inside the module (seeded by the step),
so the loader only paces the loop. It is resumable (``state_dict``), so a run restarted from a
mid-epoch checkpoint continues the epoch instead of replaying it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lightning.pytorch as pl


class StepLoader:
    """Yields ``0 .. length-1`` (one item per step) and remembers where it stopped."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.position = 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        start, self.position = self.position, 0
        for index in range(start, self.length):
            self.position = index + 1
            yield index
        self.position = 0

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position = int(state.get("position", 0)) % max(self.length, 1)


class NoiseDataModule(pl.LightningDataModule):
    """Texture mode: epochs of ``steps_per_epoch`` steps (the noise is drawn in the module)."""

    def __init__(self, steps_per_epoch: int) -> None:
        super().__init__()
        self.steps_per_epoch = steps_per_epoch

    def train_dataloader(self) -> StepLoader:
        return StepLoader(self.steps_per_epoch)
