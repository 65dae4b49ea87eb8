"""Tests for texture_nets.image: every PIL mode to (1, 3, H, W) in [0, 1], clear errors."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor

from texture_nets import image as image_module
from texture_nets.errors import UserError
from texture_nets.image import (
    BUILTIN_IMAGES,
    ImageError,
    atomic_write,
    check_output_dir,
    list_images,
    load_image,
    open_image,
    oriented_size,
    resize_max_side,
    save_image,
    upscale_min_side,
)

TOL = 1.0 / 255 + 1e-6


def check_tensor(t: Tensor, height: int, width: int) -> None:
    assert t.shape == (1, 3, height, width)
    assert t.dtype == torch.float32
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0


def pixel(t: Tensor, y: int, x: int) -> list[float]:
    return [float(v) for v in t[0, :, y, x]]


def path_pattern(path: Path) -> str:
    return re.escape(str(path))


# --- modes ------------------------------------------------------------------------------------


def test_rgb_png_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    path = tmp_path / "rgb.png"
    Image.fromarray(array).save(path)
    t = load_image(path)
    check_tensor(t, 5, 7)
    expected = torch.from_numpy(array.astype(np.float32) / 255).permute(2, 0, 1)[None]
    torch.testing.assert_close(t, expected)


def test_grayscale(tmp_path: Path) -> None:
    array = np.array([[0, 51, 255], [10, 200, 128]], dtype=np.uint8)
    path = tmp_path / "gray.png"
    Image.fromarray(array, mode="L").save(path)
    t = load_image(path)
    check_tensor(t, 2, 3)
    for c in range(3):
        torch.testing.assert_close(t[0, c], torch.from_numpy(array / 255.0).float())


def palette_image(transparent_index: int | None) -> Image.Image:
    image = Image.new("P", (4, 2))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0, 0, 0] * 253)
    image.putdata([0, 1, 2, 0, 1, 2, 0, 1])
    if transparent_index is not None:
        image.info["transparency"] = transparent_index
    return image


def test_palette_without_transparency(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    palette_image(None).save(path)
    t = load_image(path)
    check_tensor(t, 2, 4)
    assert pixel(t, 0, 0) == [1.0, 0.0, 0.0]
    assert pixel(t, 0, 1) == [0.0, 1.0, 0.0]
    assert pixel(t, 0, 2) == [0.0, 0.0, 1.0]


def test_palette_with_transparency(tmp_path: Path) -> None:
    path = tmp_path / "palette_t.png"
    palette_image(1).save(path, transparency=1)
    assert Image.open(path).info.get("transparency") == 1
    t = load_image(path)
    check_tensor(t, 2, 4)
    assert pixel(t, 0, 0) == [1.0, 0.0, 0.0]
    assert pixel(t, 0, 1) == [1.0, 1.0, 1.0]  # transparent green -> white
    assert pixel(t, 1, 3) == [1.0, 1.0, 1.0]
    assert pixel(t, 0, 2) == [0.0, 0.0, 1.0]


def test_rgba_composited_on_white(tmp_path: Path) -> None:
    array = np.zeros((1, 3, 4), dtype=np.uint8)
    array[0, 0] = (10, 20, 30, 255)  # opaque
    array[0, 1] = (10, 20, 30, 0)  # fully transparent
    array[0, 2] = (0, 0, 0, 128)  # half-transparent black
    path = tmp_path / "rgba.png"
    Image.fromarray(array, mode="RGBA").save(path)
    t = load_image(path)
    check_tensor(t, 1, 3)
    assert pixel(t, 0, 0) == pytest.approx([10 / 255, 20 / 255, 30 / 255])
    assert pixel(t, 0, 1) == [1.0, 1.0, 1.0]
    alpha = 128 / 255
    expected = (1 - alpha) * 1.0  # black * alpha + white * (1 - alpha)
    assert pixel(t, 0, 2) == pytest.approx([expected] * 3, abs=TOL)


def test_grayscale_with_alpha(tmp_path: Path) -> None:
    array = np.array([[[40, 255], [40, 0]]], dtype=np.uint8)  # (1, 2, 2): L, A
    path = tmp_path / "la.png"
    Image.fromarray(array, mode="LA").save(path)
    t = load_image(path)
    check_tensor(t, 1, 2)
    assert pixel(t, 0, 0) == pytest.approx([40 / 255] * 3)
    assert pixel(t, 0, 1) == [1.0, 1.0, 1.0]


def test_cmyk(tmp_path: Path) -> None:
    image = Image.new("CMYK", (3, 1))
    image.putdata([(0, 0, 0, 0), (0, 0, 0, 255), (255, 0, 0, 0)])
    path = tmp_path / "cmyk.tif"
    image.save(path)
    assert Image.open(path).mode == "CMYK"
    t = load_image(path)
    check_tensor(t, 1, 3)
    assert pixel(t, 0, 0) == [1.0, 1.0, 1.0]  # no ink: white
    assert pixel(t, 0, 1) == [0.0, 0.0, 0.0]  # full black ink
    assert pixel(t, 0, 2) == [0.0, 1.0, 1.0]  # cyan


def save_16bit(path: Path, values: np.ndarray) -> None:
    Image.fromarray(values.astype(np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")  # really a 16-bit image on disk


def test_16bit_png(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 64, 32768, 65535]])
    path = tmp_path / "deep.png"
    save_16bit(path, values)
    t = load_image(path)
    check_tensor(t, 1, 4)
    for x, v in enumerate(values[0]):
        assert pixel(t, 0, x) == pytest.approx([v / 65535] * 3, abs=TOL), v


def test_dark_16bit_png_stays_dark(tmp_path: Path) -> None:
    values = np.array([[0, 100, 255]])  # out of 65535: at most 0.4% brightness
    path = tmp_path / "dark16.png"
    save_16bit(path, values)
    t = load_image(path)
    assert float(t.max()) <= 1 / 255 + 1e-6


def test_exif_orientation_6_is_applied(tmp_path: Path) -> None:
    stored = np.zeros((16, 32, 3), dtype=np.uint8)
    stored[:8, :16] = (255, 0, 0)  # top-left red
    stored[:8, 16:] = (0, 0, 255)  # top-right blue
    stored[8:, :16] = (0, 255, 0)  # bottom-left green
    stored[8:, 16:] = (255, 255, 255)  # bottom-right white
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95, subsampling=0)

    t = load_image(path)
    check_tensor(t, 32, 16)  # transposed: H and W swapped
    with Image.open(path) as raw:
        decoded = np.asarray(raw.convert("RGB"))
    assert decoded.shape == (16, 32, 3)
    expected = np.rot90(decoded, k=-1)  # clockwise
    torch.testing.assert_close(
        t[0].permute(1, 2, 0), torch.from_numpy(expected.astype(np.float32) / 255)
    )
    # After a clockwise turn: stored top-left (red) is at the top-right, green at the top-left.
    assert pixel(t, 4, 12) == pytest.approx([1.0, 0.0, 0.0], abs=0.15)
    assert pixel(t, 4, 4) == pytest.approx([0.0, 1.0, 0.0], abs=0.15)
    assert pixel(t, 28, 12) == pytest.approx([0.0, 0.0, 1.0], abs=0.15)


def test_jpeg_webp_bmp(tmp_path: Path) -> None:
    array = np.full((6, 10, 3), (200, 100, 50), dtype=np.uint8)
    for suffix in (".jpg", ".bmp", ".webp"):
        path = tmp_path / f"x{suffix}"
        Image.fromarray(array).save(path)
        t = load_image(path)
        check_tensor(t, 6, 10)
        assert pixel(t, 3, 5) == pytest.approx([200 / 255, 100 / 255, 50 / 255], abs=0.03)


# --- errors -----------------------------------------------------------------------------------


def test_error_types() -> None:
    assert issubclass(ImageError, UserError)
    assert issubclass(ImageError, ValueError)


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.png"
    with pytest.raises(ImageError, match=path_pattern(path)):
        load_image(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=path_pattern(tmp_path) + ".*directory"):
        load_image(tmp_path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(ImageError, match=path_pattern(path) + ".*empty"):
        load_image(path)


def test_text_renamed_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n" * 10)
    with pytest.raises(ImageError, match=path_pattern(path)):
        load_image(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    array = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=path_pattern(path)):
        load_image(path)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_image_bomb_header(tmp_path: Path) -> None:
    # A PNG whose header claims 100000 x 100000 pixels (10 Gpx); no pixel data at all.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    previous = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError, match=path_pattern(path) + ".*too large"):
        load_image(path)
    assert previous == Image.MAX_IMAGE_PIXELS  # PIL's global limit restored


@pytest.mark.parametrize("limit", [100, 600])  # 32x32 = 1024 px: over 2x the limit / over it
def test_image_bomb_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (32, 32)).save(path)
    monkeypatch.setattr(image_module, "MAX_PIXELS", limit)
    with pytest.raises(ImageError, match=path_pattern(path) + ".*too large"):
        load_image(path)
    monkeypatch.setattr(image_module, "MAX_PIXELS", 2000)
    check_tensor(load_image(path), 32, 32)


# --- saving -----------------------------------------------------------------------------------


def test_save_image_round_trip(tmp_path: Path) -> None:
    t = torch.rand(1, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "sub" / "out.png"
    assert save_image(t, path) == path
    loaded = load_image(path)
    torch.testing.assert_close(loaded, (t * 255).round() / 255)
    assert os.listdir(path.parent) == ["out.png"]  # no temporary file left behind
    save_image(t[0], tmp_path / "three_dim.png")
    check_tensor(load_image(tmp_path / "three_dim.png"), 5, 6)


def test_save_image_rejects_batch_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="single"):
        save_image(torch.rand(2, 3, 4, 4), tmp_path / "x.png")
    with pytest.raises(ImageError, match=r"x\.xyz"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "x.xyz")
    assert os.listdir(tmp_path) == []


def test_save_image_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.png"
    save_image(torch.zeros(1, 3, 4, 4), path)
    old = path.read_bytes()

    def broken_save(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        Path(fp).write_bytes(b"\x89PNG half-written")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image(torch.ones(1, 3, 4, 4), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["out.png"]


def test_atomic_write_failure_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old contents")

    def write(tmp: Path) -> None:
        assert tmp != path and tmp.parent == path.parent
        tmp.write_bytes(b"new but incomplete")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, write)
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["data.bin"]
    atomic_write(path, lambda tmp: tmp.write_bytes(b"new"))
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["data.bin"]


# --- resizing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((100, 50), 40, (40, 20)),
        ((50, 100), 40, (20, 40)),
        ((101, 33), 50, (50, 16)),  # 33 * 50 / 101 = 16.3
        ((1000, 1), 10, (10, 1)),  # never collapses to zero
        ((30, 20), 40, (30, 20)),  # never upscales
        ((30, 20), 30, (30, 20)),
        ((30, 20), None, (30, 20)),
    ],
)
def test_resize_max_side(
    size: tuple[int, int], max_side: int | None, expected: tuple[int, int]
) -> None:
    image = Image.new("RGB", size, (9, 9, 9))
    resized = resize_max_side(image, max_side)
    assert resized.size == expected
    if expected == size:
        assert resized is image


def test_load_image_max_side(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.new("RGB", (64, 16), (255, 0, 0)).save(path)
    t = load_image(path, max_side=32)
    check_tensor(t, 8, 32)
    assert pixel(t, 4, 16) == pytest.approx([1.0, 0.0, 0.0], abs=TOL)


# --- built-in images --------------------------------------------------------------------------


def test_builtin_brick() -> None:
    t = load_image("builtin:brick", max_side=64)
    check_tensor(t, 64, 64)
    assert float(t.std()) > 0.01  # a texture, not a flat image
    # brick is grayscale: converted to RGB with equal channels
    assert torch.equal(t[0, 0], t[0, 1]) and torch.equal(t[0, 1], t[0, 2])


def test_builtin_unknown_lists_names() -> None:
    with pytest.raises(ImageError, match="builtin:nope") as info:
        open_image("builtin:nope")
    message = str(info.value)
    for name in BUILTIN_IMAGES:
        assert f"builtin:{name}" in message


# --- listing ----------------------------------------------------------------------------------


def test_list_images_recursive(tmp_path: Path) -> None:
    files = ["b.png", "a.JPG", "sub/c.jpeg", "sub/deeper/d.webp", "sub/e.tif"]
    ignored = ["notes.txt", "sub/f.gif.bak", "sub/noext"]
    for name in [*files, *ignored]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.png").mkdir()  # a directory with an image suffix is not an image
    found = list_images(tmp_path)
    assert found == sorted(tmp_path / name for name in files)


def test_list_images_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=path_pattern(tmp_path / "nope")):
        list_images(tmp_path / "nope")
    file = tmp_path / "x.png"
    file.write_bytes(b"x")
    with pytest.raises(ImageError, match=path_pattern(file)):
        list_images(file)
    assert list_images(tmp_path) == [file]


# --- reliability: header checks, size limits, output folders ----------------------------------


def test_oriented_size_has_the_same_checks_as_open_image(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(ImageError, match=path_pattern(empty) + ".*empty"):
        oriented_size(empty)
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    with pytest.raises(ImageError, match=r"100000x100000 = 10,000,000,000 pixels.*downscale"):
        oriented_size(bomb)
    with pytest.raises(ImageError, match=path_pattern(tmp_path) + ".*directory"):
        oriented_size(tmp_path)


def test_upscale_min_side() -> None:
    image = Image.new("RGB", (6, 9))
    assert upscale_min_side(image, 32).size == (32, 48)
    assert upscale_min_side(image, 4) is image
    assert upscale_min_side(image, None) is image
    assert min(upscale_min_side(Image.new("RGB", (1, 1000)), 32).size) == 32


def test_load_image_upscales_a_too_small_image_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tiny.png"
    Image.new("RGB", (6, 6), (10, 200, 30)).save(path)
    with caplog.at_level("WARNING", logger="texture_nets"):
        t = load_image(path, max_side=512, min_side=32)
    check_tensor(t, 32, 32)
    assert pixel(t, 16, 16) == pytest.approx([10 / 255, 200 / 255, 30 / 255], abs=TOL)
    assert (
        "tiny.png is 6x6, smaller than the 32 px" in caplog.text
        and "upscaled to 32x32" in caplog.text
    )
    caplog.clear()
    check_tensor(load_image(path, min_side=4), 6, 6)  # large enough: untouched, no warning
    assert not caplog.records


def test_a_huge_jpeg_is_decoded_reduced_then_resized(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    Image.new("RGB", (4096, 3072), (200, 100, 50)).save(path, quality=80)
    opened = open_image(path, max_side=256)
    assert 256 <= max(opened.size) < 4096  # draft: decoded at 1/8 scale, never below 256
    assert opened.size == (512, 384)
    t = load_image(path, max_side=256)
    check_tensor(t, 192, 256)
    assert pixel(t, 96, 128) == pytest.approx([200 / 255, 100 / 255, 50 / 255], abs=0.03)


def test_check_output_dir(tmp_path: Path) -> None:
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing created
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(UserError, match=r"--out .*notes\.txt is a file, expected a folder"):
        check_output_dir(a_file)
    with pytest.raises(UserError, match=r"notes\.txt is a file, so no folder can be made"):
        check_output_dir(a_file / "sub" / "deeper", "--out")


def test_atomic_write_below_a_file_names_the_file(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"notes\.txt is a file, not a folder"):
        atomic_write(a_file / "sub" / "out.png", lambda tmp: tmp.write_bytes(b"x"))
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_atomic_write_gives_ordinary_file_permissions(tmp_path: Path) -> None:
    """Outputs get the mode of a plain ``open()`` (umask applied), not mkstemp's 0600."""
    import os

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = atomic_write(tmp_path / "atomic.txt", lambda p: p.write_text("x"))
    assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    old = os.umask(0o027)
    try:
        from texture_nets import image

        assert image._new_file_mode() == 0o640
    finally:
        os.umask(old)
