"""Shared helpers of the benchmark scripts: where the data and results live, what machine ran."""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from texture_nets.baselines.gatys import synthesize
from texture_nets.evaluation.measure import machine_summary
from texture_nets.image import load_image
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import TextureLoss
from texture_nets.objective.objective import Objective, loss_settings
from texture_nets.precision import bf16_fast
from texture_nets.threads import use_physical_cores
from texture_nets.training.config import TrainConfig
from texture_nets.training.config_files import mode_config
from texture_nets.training.fit import train

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def data_root() -> Path:
    """The shared image folder: ``$TEXTURE_NETS_DATA`` or ``../shared/data`` beside the repo."""
    root = Path(os.environ.get("TEXTURE_NETS_DATA", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        raise SystemExit(f"image data not found at {root}; set TEXTURE_NETS_DATA")
    return root


def machine_info() -> dict[str, Any]:
    """The machine the benchmark ran on (``texture_nets.evaluation.measure.machine_summary``)."""
    return machine_summary(torch.device("cuda" if torch.cuda.is_available() else "cpu"))


def median_time(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Median wall time of ``repeats`` calls (after the caller's own warm-up)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class TextureObjective:
    """A texture's objective under the default texture config (targets in fp32, for scoring)."""

    texture: Path
    objective: Objective

    @classmethod
    def load(cls, texture: Path, descriptor_source: str) -> TextureObjective:
        settings = loss_settings(train_config("texture"), stylize=False)
        example = load_image(texture, settings.style_size)
        return cls(texture, Objective.load(descriptor_source, settings, [example]))

    @property
    def descriptor(self) -> VGGDescriptor:
        return self.objective.descriptor

    @property
    def loss(self) -> TextureLoss:
        return self.objective.loss

    @property
    def source(self) -> str:
        return self.objective.source

    @torch.no_grad()
    def score(self, images: Tensor) -> float:
        """Mean loss of (B, 3, H, W) images, descriptor in fp32."""
        return statistics.mean(
            self.loss(self.descriptor(image[None], self.loss.layers)).total.item()
            for image in images
        )

    def gatys(self, size: int, steps: int, stop_at_loss: float | None = None) -> GatysRun:
        """L-BFGS from noise (bf16 descriptor where supported, the fast path), rescored in fp32."""
        start = time.perf_counter()
        result = synthesize(
            self.objective,
            (size, size),
            steps,
            use_bf16=bf16_fast(torch.device("cpu")),
            progress=False,
            stop_at_loss=stop_at_loss,
        )
        seconds = time.perf_counter() - start
        return GatysRun(
            result.image, self.score(result.image), seconds, result.losses, result.seconds
        )


@dataclass
class GatysRun:
    image: Tensor
    loss: float  # the best image's, fp32
    seconds: float
    losses: list[float]  # per iteration, as optimised (bf16 descriptor where supported)
    times: list[float]  # wall time at the end of each iteration

    @property
    def iterations(self) -> int:
        return len(self.losses)

    def seconds_to(self, loss: float) -> float | None:
        """Wall time until an iteration's loss was ``<= loss`` (None: never)."""
        return next((t for t, v in zip(self.times, self.losses, strict=True) if v <= loss), None)


def train_run(
    overrides: TrainConfig | dict[str, Any], callbacks: Sequence[pl.Callback] = ()
) -> Path:
    """``texture_nets.train(overrides)`` set up as the train command runs it (one thread per
    physical core, INFO logging), so the benchmarks measure what the command does."""
    use_physical_cores()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return train(overrides, callbacks)


def train_config(mode: str) -> dict[str, Any]:
    """The default training config of a mode (code defaults + texture_nets/configs/<mode>.yaml)."""
    return mode_config(mode, style_image="builtin:brick").to_dict()


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, markdown: str, payload: dict[str, Any]) -> Path:
    """Print the table and the machine, write results/<name>/results.{md,json}."""
    machine = machine_info()
    print(markdown)
    print(machine["summary"])
    out = RESULTS / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"machine": machine, **payload}, indent=2))
    (out / "results.md").write_text(f"{markdown}\n\n{machine['summary']}\n")
    return out


class StepTimer(pl.Callback):
    """Wall time of every training step, from the end of the step before (the first: from
    its start): data loading, forward, backward, optimizer. On a GPU it waits for the queued
    work first, else a step would be timed at its launch. The one step timer: the benchmarks
    and ``scripts/timed_train.py`` use it."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._last = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        if not self._last:
            _finish_queued_work(pl_module.device)
            self._last = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        _finish_queued_work(pl_module.device)
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now


def _finish_queued_work(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
