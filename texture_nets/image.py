"""Image files <-> float tensors (B, 3, H, W) in [0, 1]: the only code that touches image files.

Any PIL-readable image is accepted: grayscale, palette, CMYK and 16-bit images are converted to
RGB, EXIF orientation is applied, and transparency is composited onto white. Built-in example
images (``builtin:NAME``) come from scikit-image's bundled data, so a fresh install can run the
main job without any image of its own.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from texture_nets.errors import UserError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
MAX_PIXELS = 16384 * 16384  # refuse image bombs beyond this (PIL's own default is ~89 Mpx)

# scikit-image bundles these; the first five are textures.
BUILTIN_IMAGES = (
    "immunohistochemistry",
    "brick",
    "gravel",
    "grass",
    "hubble_deep_field",
    "coffee",
    "chelsea",
    "astronaut",
    "rocket",
)
BUILTIN_PHOTOS = ("coffee", "chelsea", "astronaut", "rocket")  # stylize mode's demo content
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)  # rotated by 90 degrees: width and height swap
# What PIL raises for files it identifies but cannot decode (truncated, corrupt headers, ...).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)


class ImageError(UserError, ValueError):
    """An input image that cannot be used; the message says which file and why."""


def is_builtin(name: str | Path) -> bool:
    return str(name).startswith("builtin:")


def _load_builtin(name: str) -> Image.Image:
    key = name.removeprefix("builtin:")
    if key not in BUILTIN_IMAGES:
        raise ImageError(
            f"unknown built-in image {name!r}; available: "
            + ", ".join(f"builtin:{n}" for n in BUILTIN_IMAGES)
        )
    try:
        import skimage.data
    except ImportError as error:
        raise ImageError(
            "built-in images need scikit-image (`pip install scikit-image`)"
        ) from error
    array = np.asarray(getattr(skimage.data, key)())
    return Image.fromarray(array)


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """``Image.open`` with the checks every reader needs: the path is a non-empty file, PIL
    can identify it, and its header does not claim more than ``MAX_PIXELS`` (image bombs are
    refused before any pixel is decoded). Errors are ``ImageError``s that name the file."""
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path} is a directory, expected an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path} is empty (0 bytes); replace it with a real image")
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # the limit is checked here, with a clearer message
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"{path}: image too large ({width}x{height} = {width * height:,} pixels, "
                    f"limit {MAX_PIXELS:,} against decompression bombs); downscale it first"
                )
            yield image
    except ImageError:
        raise
    except UnidentifiedImageError as error:
        raise ImageError(
            f"{path} is not an image PIL can read (corrupt, or not an image despite its name)"
        ) from error
    except MemoryError as error:
        raise ImageError(f"{path}: not enough memory to decode it; downscale it first") from error
    except _DECODE_ERRORS as error:
        raise ImageError(f"{path}: cannot decode image ({error}); re-save or replace it") from error
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def open_image(path: str | Path, max_side: int | None = None) -> Image.Image:
    """Open an image file (or ``builtin:NAME``) as an RGB PIL image, or raise ``ImageError``.

    ``max_side``: the caller will downscale to this longer side, so a JPEG may be decoded at
    a reduced scale (1/2, 1/4 or 1/8, never below ``max_side``): a huge photo then never
    needs its full-resolution pixels in memory. The result is not resized further here.
    """
    if is_builtin(path):
        return to_rgb(_load_builtin(str(path)))
    path = Path(path).expanduser()
    with _opened(path) as image:
        if max_side is not None and image.format == "JPEG":
            image.draft(None, (max_side, max_side))
        image.load()
        upright = ImageOps.exif_transpose(image)
    return to_rgb(upright)


def oriented_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as ``open_image`` will return it, from the header only (no decoding)."""
    if is_builtin(path):
        return open_image(path).size
    with _opened(Path(path).expanduser()) as image:
        width, height = image.size
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    return (height, width) if orientation in _TRANSPOSED_ORIENTATIONS else (width, height)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparency is composited onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        sixteen_bit = image.mode.startswith("I;16") or array.max() > 255
        peak = 65535.0 if sixteen_bit else 255.0
        image = Image.fromarray((array / peak * 255).round().clip(0, 255).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def pil_to_tensor(image: Image.Image) -> Tensor:
    """RGB PIL image -> (1, 3, H, W) float32 in [0, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def tensor_to_pil(image: Tensor) -> Image.Image:
    """(3, H, W) or (1, 3, H, W) tensor in [0, 1] -> RGB PIL image."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError("tensor_to_pil takes a single image")
        image = image[0]
    array = (image.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array)


def resize_max_side(image: Image.Image, max_side: int | None) -> Image.Image:
    """Downscale (never upscale) so that the longer side is at most ``max_side``."""
    if max_side is None or max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def upscale_min_side(image: Image.Image, min_side: int | None) -> Image.Image:
    """Upscale (never downscale) so that the shorter side is at least ``min_side``."""
    if min_side is None or min(image.size) >= min_side:
        return image
    scale = min_side / min(image.size)
    size = (max(min_side, round(image.width * scale)), max(min_side, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def load_image(
    path: str | Path, max_side: int | None = None, min_side: int | None = None
) -> Tensor:
    """Load an image as (1, 3, H, W) in [0, 1], downscaled to ``max_side`` if larger.

    ``min_side``: an image whose shorter side is below it (after the downscale) is upscaled
    to it, with a warning; the descriptor needs that many pixels to reach its deepest layer.
    """
    image = resize_max_side(open_image(path, max_side), max_side)
    if min_side is not None and min(image.size) < min_side:
        larger = upscale_min_side(image, min_side)
        log.warning(
            "warning: %s is %dx%d, smaller than the %d px a side the descriptor's deepest "
            "layer needs; upscaled to %dx%d (use a larger image for a faithful texture)",
            path,
            image.width,
            image.height,
            min_side,
            larger.width,
            larger.height,
        )
        image = larger
    return pil_to_tensor(image)


def image_sha256(path: str | Path) -> str:
    """Content hash of an image source (for checkpoints: which example was this trained on?)."""
    if is_builtin(path):
        data = np.asarray(open_image(path)).tobytes()
    else:
        data = Path(path).expanduser().read_bytes()
    return hashlib.sha256(data).hexdigest()


def check_output_dir(path: str | Path, flag: str = "--out") -> Path:
    """Refuse an output folder that cannot be made or written, without creating anything.

    A path that is an existing file, or that lies below one (``--out notes.txt/run``), is a
    ``UserError`` naming the file. (Permissions are left to the write itself: root may write
    anywhere, and the write's own error is reported as a ``UserError`` too.)
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file, expected a folder; choose another {flag}")
    ancestor = next((p for p in (path, *path.parents) if p.exists()), Path.cwd())
    if not ancestor.is_dir():
        raise UserError(
            f"{flag} {path}: {ancestor} is a file, so no folder can be made below it; "
            f"choose another {flag}"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: {ancestor} is not writable; choose another {flag}")
    return path


def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_NEW_FILE_MODE = _new_file_mode()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    Readers see the old file or the complete new one, never a partial one. The temporary
    file is a hidden sibling, ``.<name>.<random><suffix>``; it is removed on any exception,
    but a process killed outright (SIGKILL, power loss) while writing leaves it behind.
    (Files are not fsync'ed: after a power loss the new file may be empty on some file
    systems; a killed process is safe.)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:  # a file where a folder must be
        blocker = next(
            (p for p in (path.parent, *path.parent.parents) if p.exists() and not p.is_dir()),
            path.parent,
        )
        raise NotADirectoryError(
            errno.ENOTDIR, f"{blocker} is a file, not a folder", str(path)
        ) from error
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _NEW_FILE_MODE)  # mkstemp's 0600 would hide outputs from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write a file atomically: ``write(tmp_path)`` then rename. Returns ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def save_image(image: Tensor, path: str | Path) -> Path:
    """Save a (3, H, W) or (1, 3, H, W) tensor in [0, 1] atomically (format from the suffix)."""
    pil = tensor_to_pil(image)
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: unknown image format; use .png or .jpg")
    return atomic_write(path, lambda tmp: pil.save(tmp, format=fmt))


def list_images(directory: str | Path) -> list[Path]:
    """All image files below ``directory`` (recursively), sorted."""
    root = Path(directory).expanduser()
    if not root.exists():
        raise ImageError(f"{root}: no such directory")
    if not root.is_dir():
        raise ImageError(f"{root} is a file, expected a directory of images")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
