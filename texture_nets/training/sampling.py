"""Which training photo, and which crop of it, every sample of a stylize run is.

Both are functions of (seed, epoch, position in the epoch) only, never of the global RNG, and
the epoch and position are derived from the optimizer step (``PhotoStream``): a run resumed
from a checkpoint, in this process or a new one, sees exactly the photos and crops an
uninterrupted run would have seen, and so reaches the same weights. Under data parallelism
every process takes its own shard of each epoch (``ShardedEpochSampler``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

MIN_EPOCH_BATCHES = 50  # tiny photo sets are repeated so that an epoch is not a single step


def training_epoch(size: int, batch_size: int, world: int = 1, accumulate: int = 1) -> int:
    """Photos in one training epoch over all processes: every photo once, at least
    ``MIN_EPOCH_BATCHES`` batches per process, and a multiple of ``world`` (with gradient
    accumulation: of whole optimizer steps, ``world x batch_size x accumulate``)."""
    total = max(size, batch_size * MIN_EPOCH_BATCHES * world)
    unit = world * batch_size * accumulate if accumulate > 1 else world
    return -(-total // unit) * unit


class ShardedEpochSampler(Sampler[int]):
    """The photo order of one process (``rank`` of ``world``) under data parallelism.

    Training (``shuffle``): an epoch is a seeded shuffle of all photos, repeated (a new
    shuffle each time) until it holds at least ``MIN_EPOCH_BATCHES`` batches per process and
    at least every photo once, rounded up to a multiple of ``world`` (``training_epoch``: with
    gradient accumulation, of whole steps, so that no step is cut short by the epoch's end);
    process ``rank`` takes
    every ``world``-th index from ``rank``. So the processes see disjoint photos, every photo
    is seen before any is repeated, each process has the same number of batches (DDP needs
    it), and ``set_epoch`` (by ``PhotoStream``, from the step) gives every epoch a new order,
    the same on every process. Validation: the photos in order, dealt round-robin; the last round is
    completed with the first photos so that every process has as many.
    """

    def __init__(
        self,
        size: int,
        rank: int,
        world: int,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        accumulate: int = 1,
    ) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not in [0, {world})")
        self.size = size
        self.rank = rank
        self.world = world
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        if shuffle:
            self.total = training_epoch(size, batch_size, world, accumulate)
        else:
            self.total = -(-size // world) * world

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> list[int]:
        """Every process's indices of this epoch, before dealing (the same on every rank)."""
        if not self.shuffle:
            return [i % self.size for i in range(self.total)]
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order: list[int] = []
        while len(order) < self.total:
            order.extend(torch.randperm(self.size, generator=rng).tolist())
        return order[: self.total]

    def __iter__(self) -> Iterator[int]:
        return iter(self.order()[self.rank :: self.world])

    def __len__(self) -> int:
        return self.total // self.world


def crop_key(seed: int, epoch: int, position: int, crop: int = 0) -> int:
    """The seed of the ``crop``-th crop of the ``position``-th photo of ``epoch`` (its place in
    the epoch's order before dealing, so every process's crops differ), mixed by NumPy's
    ``SeedSequence``."""
    entropy = [seed % 2**63, epoch, position, *([crop] if crop else [])]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)


class PhotoStream(Sampler[tuple[int, int]]):
    """The training samples of one process: ``(photo index, crop key)`` pairs.

    An epoch is ``epochs``' order (``ShardedEpochSampler``: this process's shard of a seeded
    shuffle). Where an iteration starts is not remembered but derived from
    ``batches_done()`` (the optimizer step times the accumulated batches, restored with the
    checkpoint): the epoch it falls in and the batch within it. So a resumed run continues
    mid-epoch with the very samples a straight run takes there, and Lightning's restored
    epoch progress (it expects the remainder of the epoch) agrees.

    ``crops_per_photo``: every photo gives that many crops in a row (a divisor of the batch,
    so a batch holds whole photos: the loss pools a photo's crops).
    """

    def __init__(
        self,
        epochs: ShardedEpochSampler,
        batch_size: int,
        batches_done: Callable[[], int] = lambda: 0,
        crops_per_photo: int = 1,
    ) -> None:
        if not epochs.shuffle:
            raise ValueError("a PhotoStream draws training epochs (shuffle=True)")
        if crops_per_photo < 1 or batch_size % crops_per_photo:
            raise ValueError(f"crops_per_photo {crops_per_photo} must divide the batch")
        self.epochs = epochs
        self.batch_size = batch_size
        self.batches_done = batches_done
        self.crops = crops_per_photo

    def batches_per_epoch(self) -> int:
        return -(-len(self) // self.batch_size)

    def start(self) -> tuple[int, int]:
        """(epoch, batch within it) where the next iteration begins."""
        epoch, batch = divmod(self.batches_done(), self.batches_per_epoch())
        return epoch, batch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, batch = self.start()
        epochs = self.epochs
        epochs.set_epoch(epoch)
        order = epochs.order()
        positions = range(epochs.rank, epochs.total, epochs.world)
        for position in positions[batch * self.batch_size // self.crops :]:  # whole photos
            for crop in range(self.crops):
                yield order[position], crop_key(epochs.seed, epoch, position, crop)

    def __len__(self) -> int:
        """A whole epoch: what Lightning counts its batches against."""
        return len(self.epochs) * self.crops


class PhotoLoader(DataLoader[Any]):
    """The training ``DataLoader`` of a ``PhotoStream``, resumable in Lightning's sense.

    Lightning saves a loader's ``state_dict`` and hands it back on resume; this one needs
    nothing of it (the stream restarts from the restored step), but being stateful tells
    Lightning that a mid-epoch resume continues the epoch (no "not resumable" warning)."""

    def state_dict(self) -> dict[str, Any]:
        sampler = self.sampler
        if isinstance(sampler, PhotoStream):
            epoch, batch = sampler.start()
            return {"epoch": epoch, "batch": batch}  # informative: derived from the step
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore: the position follows from the step counter."""
