"""Data for training.

Texture mode has no data: every step draws its noise inside the module (seeded by the step),
so the loader only paces the loop. It is resumable (``state_dict``), so a run restarted from a
mid-epoch checkpoint continues the epoch instead of replaying it.

Stylize mode trains on photos (``PhotoDataModule``): a folder tree of images, or the built-in
photos as a demo. Which photo and which crop every sample is follows from the seed and the
step (``sampling``), so stylize runs resume exactly too. Files that cannot be decoded never
stop training: each is replaced by the next readable photo, and one warning counts them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.transforms import v2

from texture_nets.errors import UserError
from texture_nets.image import BUILTIN_PHOTOS, IMAGE_SUFFIXES, ImageError, list_images, open_image
from texture_nets.training.sampling import (
    MIN_EPOCH_BATCHES,
    PhotoLoader,
    PhotoStream,
    ShardedEpochSampler,
    training_epoch,
)

__all__ = [  # the samplers moved to ``sampling``; their old home still names them
    "MIN_EPOCH_BATCHES",
    "NoiseDataModule",
    "PhotoDataModule",
    "PhotoDataset",
    "ShardedEpochSampler",
    "StepLoader",
    "photo_split",
    "train_transform",
    "training_epoch",
    "val_transform",
]

log = logging.getLogger(__name__)


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


# -- stylize mode: photos -------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoSplit:
    """Training and validation photos (file paths or ``builtin:NAME``), and where they came from."""

    train: list[str]
    val: list[str]
    source: str


def photo_split(
    content_dir: str | None, val_dir: str | None, val_fraction: float, seed: int
) -> PhotoSplit:
    """Resolve the photo folders into a split; an empty folder is a ``UserError``.

    Without ``content_dir`` the built-in photos are used (train = validation: a demo only).
    Without ``val_dir``, a seeded random ``val_fraction`` of ``content_dir`` is held out; with
    ``val_fraction`` 0 the training photos are also the validation photos.
    """
    if content_dir is None:
        files = [f"builtin:{name}" for name in BUILTIN_PHOTOS]
        log.warning(
            "no --content-dir: training on the %d built-in photos (%s). This is a demo: "
            "serious stylization needs a large photo collection such as MS-COCO "
            "(e.g. --content-dir coco/train2017).",
            len(files),
            ", ".join(BUILTIN_PHOTOS),
        )
        if val_dir is not None:
            return PhotoSplit(files, _folder_images(val_dir), f"built-in photos (val: {val_dir})")
        return PhotoSplit(files, files, "built-in photos")
    train = _folder_images(content_dir)
    if val_dir is not None:
        return PhotoSplit(train, _folder_images(val_dir), f"{content_dir} (val: {val_dir})")
    if val_fraction == 0 or len(train) < 2:
        return PhotoSplit(train, train, f"{content_dir} (validated on training photos)")
    held_out = min(len(train) - 1, max(1, round(len(train) * val_fraction)))
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    val_indices = set(order[:held_out])
    return PhotoSplit(
        [f for i, f in enumerate(train) if i not in val_indices],
        [f for i, f in enumerate(train) if i in val_indices],
        f"{content_dir} ({held_out} held out for validation)",
    )


def _folder_images(directory: str) -> list[str]:
    files = [str(path) for path in list_images(directory)]
    if not files:
        raise UserError(
            f"{directory}: no images found (looked for {', '.join(IMAGE_SUFFIXES)}, recursively)"
        )
    return files


class ScalePhoto:
    """Resize a photo to its training scale: the longer side to ``photo_size`` (the scale the
    stylizer will be used at, so strokes are learned at the size they are seen), but never
    so small that a ``crop`` x ``crop`` crop does not fit; ``photo_size`` 0: the shorter side
    to ``crop`` (the whole photo, downscaled)."""

    def __init__(self, crop: int, photo_size: int = 0) -> None:
        self.crop = crop
        self.photo_size = photo_size

    def __call__(self, image: Image.Image) -> Image.Image:
        width, height = image.size
        factor = self.crop / min(width, height)
        if self.photo_size:
            factor = max(factor, self.photo_size / max(width, height))
        size = (max(self.crop, round(width * factor)), max(self.crop, round(height * factor)))
        if size == image.size:
            return image
        return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


class CropPhoto:
    """The photo at its training scale (``ScalePhoto``), a ``size`` x ``size`` crop, float
    [0, 1]. The crop is placed by ``key`` (``sampling.crop_key``), a seeded draw: not the
    global RNG, which a resumed process or a loader worker does not share; no key: central."""

    def __init__(self, size: int, photo_size: int = 0) -> None:
        self.size = size
        self.scale = ScalePhoto(size, photo_size)
        self.to_tensor = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])

    def __call__(self, image: Image.Image, key: int | None = None) -> Tensor:
        image = self.scale(image)
        spare_x, spare_y = image.size[0] - self.size, image.size[1] - self.size
        if key is None:
            left, top = round(spare_x / 2), round(spare_y / 2)
        else:
            rng = torch.Generator().manual_seed(key)
            top = int(torch.randint(spare_y + 1, (), generator=rng))
            left = int(torch.randint(spare_x + 1, (), generator=rng))
        return self.to_tensor(image.crop((left, top, left + self.size, top + self.size)))


def train_transform(size: int, photo_size: int = 0) -> CropPhoto:
    """Training photos: ``CropPhoto`` (a crop placed by each sample's key)."""
    return CropPhoto(size, photo_size)


def val_transform(size: int, photo_size: int = 0) -> Callable[[Image.Image], Tensor]:
    """The photo at its training scale, central ``size`` x ``size`` crop (deterministic)."""
    return v2.Compose(
        [
            ScalePhoto(size, photo_size),
            v2.CenterCrop(size),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )


class PhotoDataset(Dataset[Tensor]):
    """Photos as (3, S, S) tensors; one that cannot be decoded is replaced by the next good one.

    Unreadable files are marked in ``unreadable``, a tensor in shared memory, so that marks
    made in worker processes are seen by the main process (which reports them once).
    """

    def __init__(self, files: Sequence[str], transform: Callable[..., Tensor]) -> None:
        self.files = list(files)
        self.transform = transform
        self.unreadable = torch.zeros(len(self.files), dtype=torch.bool).share_memory_()

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> Image.Image | None:
        """The photo at ``index``, or None (and marked unreadable) if it cannot be decoded."""
        if self.unreadable[index]:
            return None
        try:
            return open_image(self.files[index])
        except ImageError as error:
            log.debug("skipping an unreadable photo: %s", error)
            self.unreadable[index] = True
            return None

    def __getitem__(self, item: int | tuple[int, int]) -> Tensor:
        """Photo ``item``, or ``(index, crop key)`` from a ``PhotoStream`` (``CropPhoto``)."""
        index, key = item if isinstance(item, tuple) else (item, None)
        count = len(self.files)
        for offset in range(count):
            image = self.read((index + offset) % count)
            if image is not None:
                return self.transform(image) if key is None else self.transform(image, key)
        raise UserError(f"none of the {count} photos can be decoded")

    def first_readable(self, count: int) -> list[Tensor]:
        """The first ``count`` photos that can be decoded (in file order), transformed."""
        images: list[Tensor] = []
        for index in range(len(self.files)):
            if len(images) == count:
                break
            image = self.read(index)
            if image is not None:
                images.append(self.transform(image))
        return images

    @property
    def unreadable_files(self) -> list[str]:
        return [f for f, bad in zip(self.files, self.unreadable.tolist(), strict=True) if bad]


class PhotoDataModule(pl.LightningDataModule):
    """Stylize mode: random crops of training photos, centre crops of validation photos.

    ``sample_photos`` are the first ``val_samples`` readable validation photos (fixed for the
    whole run: the sample grid shows their stylizations). ``report_unreadable`` logs one
    warning that counts the files that could not be decoded.
    """

    def __init__(
        self,
        split: PhotoSplit,
        image_size: int,
        batch_size: int,
        num_workers: int = 2,
        val_samples: int = 4,
        seed: int = 0,
        accumulate: int = 1,
        photo_size: int = 0,
        crops_per_photo: int = 1,
    ) -> None:
        super().__init__()
        self.crops_per_photo = crops_per_photo  # consecutive crops of one training photo
        self.accumulate = accumulate  # batches per optimizer step: epochs hold whole steps
        self.seed = seed  # of the photo order and crops (sampling.PhotoStream)
        self.split = split
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.val_samples = val_samples
        self.train_set = PhotoDataset(split.train, train_transform(image_size, photo_size))
        self.val_set = PhotoDataset(split.val, val_transform(image_size, photo_size))
        self._samples: Tensor | None = None
        self._reported = False

    def check_readable(self) -> None:
        """Fail before training when no training photo can be decoded."""
        if not self.train_set.first_readable(1):
            try:
                open_image(self.train_set.files[0])
                example = ""
            except ImageError as error:
                example = f" (e.g. {error})"
            raise UserError(
                f"none of the {len(self.train_set)} training photos in {self.split.source} "
                f"can be decoded{example}; replace them, or give a folder of images"
            )

    def _batches_done(self) -> int:
        """Training batches taken so far (restored with a checkpoint): where the photos resume."""
        trainer = self.trainer
        return 0 if trainer is None else trainer.global_step * self.accumulate

    def _loader(self, dataset: PhotoDataset, shuffle: bool) -> DataLoader[Tensor]:
        # train.py turns off Lightning's sampler replacement (it would drop the minimum
        # epoch): each process gets its own shard here
        trainer = self.trainer
        rank, world = (0, 1) if trainer is None else (trainer.global_rank, trainer.world_size)
        sampler: Sampler[Any] | None = None
        loader: type[DataLoader[Any]] = DataLoader
        if shuffle or world > 1:
            epochs = ShardedEpochSampler(
                len(dataset), rank, world, self.batch_size, shuffle, self.seed, self.accumulate
            )
            sampler = epochs
            if shuffle:  # photos and crops from (seed, step): resumes are exact
                sampler = PhotoStream(
                    epochs, self.batch_size, self._batches_done, self.crops_per_photo
                )
                loader = PhotoLoader
        return loader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader[Tensor]:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader[Tensor]:
        return self._loader(self.val_set, shuffle=False)

    def sample_photos(self) -> Tensor:
        """(N, 3, S, S): the fixed validation photos of the sample grid (N may be 0)."""
        if self._samples is None:
            photos = self.val_set.first_readable(self.val_samples)
            self._samples = torch.stack(photos) if photos else torch.empty(0)
        return self._samples

    def report_unreadable(self, complete: bool) -> None:
        """Log (once) how many files could not be decoded; ``complete``: after a full epoch."""
        if self._reported:
            return
        bad_train = self.train_set.unreadable_files
        separate_val = self.split.val != self.split.train
        bad_val = self.val_set.unreadable_files if separate_val else []
        if not bad_train and not bad_val:
            self._reported = complete
            return
        self._reported = True
        counts = f"{len(bad_train)} of {len(self.train_set)} training"
        if separate_val:
            counts += f", {len(bad_val)} of {len(self.val_set)} validation"
        log.warning(
            "skipped %d unreadable image file(s) (%s)%s, e.g. %s; each was replaced by the "
            "next readable photo",
            len(bad_train) + len(bad_val),
            counts,
            "" if complete else " in the part of the photos read so far",
            (bad_train + bad_val)[0],
        )
