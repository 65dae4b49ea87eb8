"""The stylize photo stream: which photo and which crop every training sample is, as a
function of (seed, step) only (``training.sampling``), so that resumes are exact.

The end-to-end check (a run resumed in a new process reaches the straight run's weights) is
``test_reliability.py::test_stylize_resume_in_a_new_process_is_bit_exact``; the epoch
guarantees of the shards are in ``test_distributed.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from texture_nets.training.data import CropPhoto, PhotoDataModule, PhotoDataset, photo_split
from texture_nets.training.sampling import PhotoStream, ShardedEpochSampler, crop_key


def stream(
    size: int,
    rank: int,
    world: int,
    batch: int,
    done: int = 0,
    accumulate: int = 1,
    crops: int = 1,
) -> PhotoStream:
    epochs = ShardedEpochSampler(size, rank, world, batch, True, seed=3, accumulate=accumulate)
    return PhotoStream(epochs, batch, lambda: done, crops)


@pytest.mark.parametrize("world", [1, 2])
def test_a_stream_resumed_at_any_batch_continues_the_straight_one(world: int) -> None:
    """Started ``done`` batches in, the stream yields exactly what an uninterrupted iteration
    yields from there on (the rest of the epoch), and from the next epoch a new order."""
    full = list(stream(7, 0, world, 2))
    per_epoch = -(-len(full) // 2)
    for done in (1, 5, per_epoch - 1):
        assert list(stream(7, 0, world, 2, done)) == full[2 * done :]
    second = list(stream(7, 0, world, 2, per_epoch))
    assert len(second) == len(full)
    assert [p for p, _ in second] != [p for p, _ in full]  # epoch 1 is another shuffle
    assert list(stream(7, 0, world, 2, per_epoch + 3)) == second[6:]


def test_ranks_take_disjoint_shards_with_distinct_crops() -> None:
    """Under data parallelism each process has its own photos and crop keys, as many of
    them, and together they are the one-epoch order."""
    shards = [list(stream(6, rank, 3, 2)) for rank in range(3)]
    assert len({len(shard) for shard in shards}) == 1
    keys = [key for shard in shards for _, key in shard]
    assert len(set(keys)) == len(keys)  # no two samples of the epoch share a crop
    order = ShardedEpochSampler(6, 0, 3, 2, True, seed=3).order()
    for rank, shard in enumerate(shards):
        assert [photo for photo, _ in shard] == order[rank::3]
        assert [key for _, key in shard] == [
            crop_key(3, 0, position) for position in range(rank, len(order), 3)
        ]


def test_the_epoch_follows_the_step_with_accumulation() -> None:
    """With 2 batches per step the stream starts at step x 2 batches (``batches_done``)."""
    full = list(stream(10, 0, 1, 2, accumulate=2))
    assert list(stream(10, 0, 1, 2, done=3 * 2, accumulate=2)) == full[3 * 2 * 2 :]


@pytest.mark.parametrize(("world", "accumulate"), [(1, 2), (2, 1)])
def test_crops_per_photo_resume_exactly_with_accumulation_and_shards(
    world: int, accumulate: int
) -> None:
    """Two crops a photo, batches of 4 under gradient accumulation or two processes: the stream
    of every rank started ``done`` batches in continues its straight one; the ranks' photos and
    crop keys are disjoint."""
    shards = []
    for rank in range(world):
        full = list(stream(9, rank, world, 4, accumulate=accumulate, crops=2))
        for done in (1, 2 * accumulate + 1):
            resumed = list(stream(9, rank, world, 4, done, accumulate, crops=2))
            assert resumed == full[4 * done :]
        shards.append(full)
    keys = [key for shard in shards for _, key in shard]
    assert len(set(keys)) == len(keys)


def test_crops_per_photo_come_in_a_row_and_resume_exactly() -> None:
    """``crops_per_photo`` 2: each photo of the one-crop order twice in a row with two
    distinct keys (the first the one-crop key), batches of whole photos, and a stream
    started ``done`` batches in continues the straight one."""
    single = list(stream(7, 0, 1, 4))
    double = list(stream(7, 0, 1, 4, crops=2))
    assert len(double) == 2 * len(single)
    assert [photo for photo, _ in double[::2]] == [photo for photo, _ in single]
    assert [photo for photo, _ in double[1::2]] == [photo for photo, _ in single]
    assert [key for _, key in double[::2]] == [key for _, key in single]
    assert len({key for _, key in double}) == len(double)
    per_epoch = -(-len(double) // 4)
    for done in (1, 3, per_epoch - 1):
        assert list(stream(7, 0, 1, 4, done, crops=2)) == double[4 * done :]
    with pytest.raises(ValueError, match="must divide the batch"):
        stream(7, 0, 1, 4, crops=3)


def test_crops_are_placed_by_their_key_alone(tmp_path: Path) -> None:
    """A key gives one crop whatever the global RNG does; keys move the crop; no key is the
    centre. The dataset passes ``(index, key)`` items through."""
    pixels = np.random.default_rng(0).integers(0, 256, (20, 60, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    crop = CropPhoto(20)
    image = Image.open(tmp_path / "wide.png").convert("RGB")
    torch.manual_seed(0)
    first = crop(image, 11)
    torch.manual_seed(1)
    assert torch.equal(crop(image, 11), first)
    crops = {crop(image, key).numpy().tobytes() for key in range(20)}
    assert len(crops) > 5
    centre = torch.from_numpy(pixels[:, 20:40]).permute(2, 0, 1)
    assert torch.equal((crop(image) * 255).round().byte(), centre)
    dataset = PhotoDataset([str(tmp_path / "wide.png")], crop)
    assert torch.equal(dataset[0, 11], first) and torch.equal(dataset[0], crop(image))


def test_the_batches_do_not_depend_on_the_loader_workers(tmp_path: Path) -> None:
    """The crops are drawn in the worker processes from their keys alone: 0 or 2 workers,
    the same batches (a global-RNG crop would differ with the workers' seeds)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(3):
        pixels = np.random.default_rng(seed).integers(0, 256, (30, 50, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"p{seed}.png")
    split = photo_split(str(folder), None, 0, seed=0)

    def batches(workers: int) -> list[torch.Tensor]:
        data = PhotoDataModule(split, 24, batch_size=2, num_workers=workers, seed=4)
        loader = data.train_dataloader()
        assert isinstance(loader.sampler, PhotoStream)
        iterator = iter(loader)
        return [next(iterator) for _ in range(3)]

    for one, two in zip(batches(0), batches(2), strict=True):
        assert torch.equal(one, two)


def test_a_batch_holds_crops_per_photo_crops_of_each_photo(tmp_path: Path) -> None:
    """``crops_per_photo`` 2 through the data module: a batch of 4 is two crops of one photo,
    then two of the next in the photo order (photos of one flat colour each, so crops of a
    photo are equal)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(3):
        Image.new("RGB", (40, 30), (60 * k, 100, 200 - 60 * k)).save(folder / f"p{k}.png")
    split = photo_split(str(folder), None, 0, seed=0)
    data = PhotoDataModule(split, 16, batch_size=4, num_workers=0, seed=1, crops_per_photo=2)
    batches = list(iter(data.train_dataloader()))[:3]
    for batch in batches:
        assert torch.equal(batch[0], batch[1]) and torch.equal(batch[2], batch[3])
    assert not torch.equal(batches[0][0], batches[0][2])  # the first two of a shuffle
