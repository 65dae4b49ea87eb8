"""Stylizing photo files with a trained network (what ``generate.py --content`` runs).

Any size and aspect ratio: the network is fully convolutional. Output files keep the input's
name stem (``photos/a/cat.jpg`` -> ``OUT/a/cat_<style>.png``) and its size (EXIF orientation
applied), unless a longer side is asked for. Photos of the same processing size are stylized
together in batches; the noise (Ulyanov generator) is drawn from one seed per image, so an
image's result does not depend on the batch it was in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image
from torch import Tensor

from texture_nets.errors import UserError
from texture_nets.image import ImageError, open_image, oriented_size, pil_to_tensor, save_image
from texture_nets.inference.bands import DEFAULT_MAX_MEMORY, band_options
from texture_nets.inference.color import preserve_colors
from texture_nets.nets.networks import (
    Network,
    min_side,
    render,
    render_steps,
    seeded_noise,
)

log = logging.getLogger(__name__)

Size = tuple[int, int]  # (width, height)


@dataclass(frozen=True)
class StylizeOptions:
    size: int | None = None  # longer side of the outputs (None: the input's size)
    content_scale: float = 1.0  # x the training scale (``work_size_for``): < 1 larger strokes
    photo_size: int = 0  # the model's training scale (``ModelInfo.photo_size``)
    original_colors: bool = False
    seed: int = 0
    batch_size: int = 4
    tile: str | int = "auto"  # generate.py --tile: auto | off | most rows per band
    max_memory: float = DEFAULT_MAX_MEMORY  # bytes (generate.py --max-memory)
    format: str = "png"
    device: str = "cpu"


@dataclass(frozen=True)
class PhotoJob:
    """One photo: where it is read from, where its result goes, and at which sizes."""

    source: Path
    output: Path
    out_size: Size
    work_size: Size


def scaled(size: Size, factor: float) -> Size:
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def work_size_for(out: Size, content_scale: float, photo_size: int = 0) -> Size:
    """The size a photo is painted at: its longer side at the stylizer's training scale
    (``photo_size``) times ``content_scale``, then resized to the output. Strokes then keep
    the size relative to the picture that the model learned, whatever output size is asked
    for. A model without a recorded scale paints at the output size times ``content_scale``."""
    base = scaled(out, photo_size / max(out)) if photo_size else out
    return scaled(base, content_scale)


def output_size(size: Size, longer_side: int | None) -> Size:
    return size if longer_side is None else scaled(size, longer_side / max(size))


def output_name(source: Path, root: Path | None, style: str, fmt: str) -> Path:
    """``root/a/cat.jpg`` -> ``a/cat_<style>.<fmt>`` (subfolders kept), a file -> its name."""
    relative = source.relative_to(root) if root is not None else Path(source.name)
    stem = source.stem.removeprefix("builtin:")
    return relative.with_name(f"{stem}_{style}.{fmt}")


def plan(
    sources: Sequence[Path],
    root: Path | None,
    out_dir: Path,
    style: str,
    options: StylizeOptions,
    smallest: int,
) -> tuple[list[PhotoJob], list[str]]:
    """One job per usable photo, and the reasons for the photos that cannot be used."""
    jobs: list[PhotoJob] = []
    skipped: list[str] = []
    taken: set[Path] = set()
    for source in sources:
        try:
            size = oriented_size(source)
        except ImageError as error:
            skipped.append(str(error))
            continue
        out_size = output_size(size, options.size)
        work = work_size_for(out_size, options.content_scale, options.photo_size)
        if min(work) < smallest:
            skipped.append(
                f"{source}: {work[0]}x{work[1]} is too small to stylize (the network "
                f"needs {smallest} px a side; raise --size or --content-scale)"
            )
            continue
        name = output_name(source, root, style, options.format)
        if name in taken:  # cat.jpg and cat.png in one folder
            name = name.with_name(f"{source.stem}_{source.suffix[1:]}_{style}.{options.format}")
        taken.add(name)
        jobs.append(PhotoJob(source, out_dir / name, out_size, work))
    return jobs, skipped


def batches(jobs: Iterable[PhotoJob], batch_size: int) -> list[list[PhotoJob]]:
    """Jobs grouped by processing size (first-seen order), in chunks of ``batch_size``."""
    groups: dict[Size, list[PhotoJob]] = {}
    for job in jobs:
        groups.setdefault(job.work_size, []).append(job)
    return [
        group[first : first + batch_size]
        for group in groups.values()
        for first in range(0, len(group), batch_size)
    ]


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's ``OutOfMemoryError``, or the CPU allocator's ``RuntimeError``/``MemoryError``."""
    return isinstance(error, torch.OutOfMemoryError | MemoryError) or (
        "can't allocate memory" in str(error) or "not enough memory" in str(error)
    )


@torch.no_grad()
def stylize_tensor(
    network: Network,
    content: Tensor,
    seed: int,
    tile: int | None = None,
    max_memory: float = DEFAULT_MAX_MEMORY,
    progress: Callable[[float], None] | None = None,
) -> Tensor:
    """(B, 3, H, W) photos in [0, 1] -> stylized, every image with the noise of ``seed``.

    ``tile`` and ``max_memory`` bound the memory, not the result (``networks.render``);
    ``progress`` is called with the fraction done after every band.
    """
    batch, _, height, width = content.shape
    noise = seeded_noise(network.config, 1, height, width, seed, content.device)
    if noise is not None:
        noise = [scale.expand(batch, -1, -1, -1) for scale in noise]
    on_step, done = None, 0
    if progress is not None:
        steps = max(1, render_steps(network, batch, height, width, tile))

        def on_step() -> None:
            nonlocal done
            done += 1
            progress(min(1.0, done / steps))

    result = render(network, content, noise, tile, max_memory, on_step)
    if progress is not None and not done:
        progress(1.0)  # a network run in one pass (ONNX) has no bands to report
    return result


def resize(image: Tensor, size: Size) -> Tensor:
    if tuple(image.shape[-1:-3:-1]) == size:
        return image
    resized = F.interpolate(image, size=(size[1], size[0]), mode="bicubic", antialias=True)
    return resized.clamp(0, 1)


def stylize_images(
    network: Network,
    originals: Sequence[Image.Image],
    out_sizes: Sequence[Size],
    work_size: Size,
    options: StylizeOptions,
    progress: Callable[[float], None] | None = None,
) -> list[Tensor]:
    """PIL photos -> stylized (1, 3, H, W) tensors at ``out_sizes``: resized to the common
    ``work_size``, stylized together, resized back, colours kept if asked (``progress``: as
    ``stylize_tensor``'s)."""
    content = torch.cat(
        [pil_to_tensor(image.resize(work_size, Image.Resampling.LANCZOS)) for image in originals]
    ).to(options.device)
    tile, budget = band_options(options.tile, options.max_memory)
    stylized = stylize_tensor(network, content, options.seed, tile, budget, progress)
    stylized = stylized.float().cpu()
    results = []
    for original, out_size, image in zip(originals, out_sizes, stylized, strict=True):
        result = resize(image.unsqueeze(0), out_size)
        if options.original_colors:
            photo = pil_to_tensor(original.resize(out_size, Image.Resampling.LANCZOS))
            result = preserve_colors(result, photo)
        results.append(result)
    return results


def run_batch(network: Network, jobs: Sequence[PhotoJob], options: StylizeOptions) -> list[Path]:
    """Stylize and save one batch of same-size jobs; returns the written files."""
    originals = [open_image(job.source) for job in jobs]
    results = stylize_images(
        network, originals, [job.out_size for job in jobs], jobs[0].work_size, options
    )
    written = []
    for job, result in zip(jobs, results, strict=True):
        try:
            written.append(save_image(result, job.output))
        except OSError as error:
            raise UserError(f"cannot write {job.output}: {error.strerror or error}") from error
    return written


def stylize_files(
    network: Network,
    sources: Sequence[Path],
    root: Path | None,
    out_dir: Path,
    style: str,
    options: StylizeOptions,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> list[Path]:
    """Stylize photo files. A single file (``root`` None) that cannot be used is a
    ``UserError``; in a folder such files are skipped with one warning that counts them."""
    jobs, skipped = plan(sources, root, out_dir, style, options, min_side(network.config))
    if root is None and skipped:
        raise UserError(skipped[0])
    advance = progress(len(jobs)) if progress is not None else None
    written: list[Path] = []
    for batch in batches(jobs, options.batch_size):
        try:
            written += run_batch(network, batch, options)
        except ImageError as error:  # the header was readable but the pixels are not
            if root is None:
                raise
            written += _one_by_one(network, batch, options, skipped)
            log.debug("batch fell back to single images: %s", error)
        except (torch.OutOfMemoryError, MemoryError, RuntimeError) as error:
            if not is_out_of_memory(error):
                raise
            width, height = batch[0].work_size
            raise UserError(
                f"out of memory at {width}x{height}; lower --batch-size, --size or --content-scale"
            ) from error
        if advance is not None:
            advance(len(batch))
    if skipped:
        log.warning(
            "skipped %d of %d file(s) that cannot be stylized, e.g. %s",
            len(skipped),
            len(sources),
            skipped[0],
        )
    return written


def _one_by_one(
    network: Network, batch: Sequence[PhotoJob], options: StylizeOptions, skipped: list[str]
) -> list[Path]:
    written: list[Path] = []
    for job in batch:
        try:
            written += run_batch(network, [job], options)
        except ImageError as error:
            skipped.append(str(error))
    return written
