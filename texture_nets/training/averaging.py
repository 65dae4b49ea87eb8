"""A moving average of the generator's weights (``--ema-decay``), normalised so that short
runs are not biased to their first step; checkpoints and samples use it when it is on.

Kept apart from the Lightning module: it is plain torch (``AveragedModel`` with an update
rule), and ``ddp_spawn`` pickles the update with the module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel


def average_of(network: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of ``network``'s weights and buffers (not trained: no
    gradients, so data parallelism never waits for them)."""
    average = AveragedModel(network, multi_avg_fn=NormalisedEMA(decay), use_buffers=True)
    average.requires_grad_(False)
    return average


@dataclass(frozen=True)
class NormalisedEMA:
    """The update of a moving average normalised by its weights so far: after n steps it is
    sum(decay^(n-i) w_i) / sum(decay^(n-i)). A plain one (torch's ``get_ema_multi_avg_fn``)
    keeps the first step's weights at decay^(n-1), a third of the average after 100 steps at
    0.99: worse than the last iterate in short runs. Integer buffers (counters) are copied.
    A class, not a closure: ``ddp_spawn`` pickles the module with it."""

    decay: float

    @torch.no_grad()
    def __call__(
        self, averages: Sequence[Tensor], currents: Sequence[Tensor], n_averaged: Tensor | int
    ) -> None:
        weight = (1 - self.decay) / (1 - self.decay ** (int(n_averaged) + 1))  # new step's share
        for average, current in zip(averages, currents, strict=True):
            if average.is_floating_point():
                average.lerp_(current, weight)
            else:
                average.copy_(current)
