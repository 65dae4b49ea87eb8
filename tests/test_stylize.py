"""Stylize mode end to end: train.py --style -> checkpoint -> generate.py --content.

Tiny runs: random descriptor, 32 px crops, a few steps; the networks are untrained, so only
plumbing, sizes, names, colours and error handling are checked here.
"""

from __future__ import annotations

import csv
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import texture_nets as tn
from texture_nets.cli import generate as generate_cli
from texture_nets.cli import train as train_cli
from texture_nets.errors import UserError
from texture_nets.image import BUILTIN_PHOTOS, oriented_size
from texture_nets.inference.color import preserve_colors, rgb_to_ycbcr, ycbcr_to_rgb
from texture_nets.inference.stylize import StylizeOptions, batches, plan, work_size_for
from texture_nets.nets.checkpoint import CheckpointError, read_checkpoint
from texture_nets.nets.johnson import JohnsonConfig, JohnsonNet
from texture_nets.nets.ulyanov import Generator
from texture_nets.training.config import ConfigError
from texture_nets.training.config_files import make_config
from texture_nets.training.data import PhotoDataset, photo_split, val_transform

TINY = [
    "--descriptor",
    "random",
    "--image-size",
    "32",
    "--batch-size",
    "2",
    "--num-scales",
    "3",
    "--channels",
    "4",
    "--residual-blocks",
    "1",
    "--style-layers",
    "relu1_1,relu2_1",
    "--content-layers",
    "relu2_1",
    "--style-size",
    "48",
    "--log-every",
    "1",
    "--sample-every",
    "2",
    "--val-batches",
    "1",
    "--val-samples",
    "2",
    "--checkpoint-every",
    "100",
    "--precision",
    "fp32",
    "--num-workers",
    "0",
    "--max-steps",
    "3",
]


def write_photo(path: Path, width: int, height: int, seed: int = 0, smooth: bool = False) -> Path:
    """A random RGB photo (``smooth``: mid-range colour gradients, no saturated pixels)."""
    rng = np.random.default_rng(seed)
    if smooth:
        y, x = np.mgrid[0:height, 0:width]
        channels = [0.5 + 0.2 * np.sin(x / (5 + c) + y / (7 + 2 * c) + c) for c in range(3)]
        pixels = (np.stack(channels, -1) * 255).round().astype(np.uint8)
    else:
        pixels = (rng.random((height, width, 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@contextmanager
def captured_log() -> Iterator[list[str]]:
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.INFO)
    logger = logging.getLogger("texture_nets")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def train(out: Path, *extra: str, style: str = "builtin:brick") -> tuple[int, str]:
    with warnings.catch_warnings(), captured_log() as messages:
        warnings.simplefilter("ignore")
        code = train_cli.main(["--style", style, "--out", str(out), *TINY, *extra])
    return code, "\n".join(messages)


def generate(*args: str) -> int:
    return generate_cli.main([str(a) for a in args])


@pytest.fixture(scope="module")
def builtin_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Ulyanov stylizer trained on the built-in photos (no --content-dir)."""
    run = tmp_path_factory.mktemp("builtin") / "run"
    code, log = train(run)
    assert code == 0, log
    return run, log


@pytest.fixture(scope="module")
def johnson_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("johnson")
    photos = root / "photos"
    for i, (w, h) in enumerate([(48, 40), (40, 56), (64, 48), (50, 50)]):
        write_photo(photos / ("nested" if i % 2 else "") / f"p{i}.jpg", w, h, seed=i)
    code, log = train(root / "run", "--generator", "johnson", "--content-dir", str(photos))
    assert code == 0, log
    return root / "run"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Odd sizes, a portrait, a nested folder and two photos of one size (batched together)."""
    folder = tmp_path / "photos"
    write_photo(folder / "cat.jpg", 53, 37, seed=1)
    write_photo(folder / "tall.png", 35, 61, seed=2)
    write_photo(folder / "same_a.png", 40, 40, seed=3)
    write_photo(folder / "same_b.webp", 40, 40, seed=4)
    write_photo(folder / "sub" / "dog.bmp", 47, 33, seed=5)
    return folder


def sizes(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): Image.open(p).size for p in sorted(folder.rglob("*.png"))}


# -- training ---------------------------------------------------------------------------------


def test_builtin_photos_without_content_dir(builtin_run: tuple[Path, str]) -> None:
    run, log = builtin_run
    assert "built-in photos" in log and "MS-COCO" in log
    info = read_checkpoint(run, expect_mode="stylize")
    assert info.global_step == 3
    assert info.architecture == "ulyanov"
    assert info.generator_config.content_channels == 3  # type: ignore[union-attr]
    assert isinstance(info.build_network(), Generator)
    # validation every 2 steps, and a final grid: 2 photos over their 2 stylizations
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "step_000002.png",
        "step_000003.png",
    ]
    grid = Image.open(run / "samples" / "step_000002.png")
    assert grid.size == (2 + 2 * (32 + 2), 2 + 2 * (32 + 2))
    rows = list(csv.DictReader((run / "logs" / "metrics.csv").open()))
    for key in ("train/style", "train/content", "val/style", "val/content", "val/loss"):
        assert key in rows[0]
    # the torchmetrics scores (fp32) agree with the logged loss terms (fp32 in this run)
    val = next(r for r in rows if r.get("val/style_distance"))
    style_weight = read_checkpoint(run).config["style_weight"]
    assert float(val["val/style_distance"]) * style_weight == pytest.approx(
        float(val["val/style"]), rel=1e-4
    )
    assert float(val["val/content_distance"]) == pytest.approx(float(val["val/content"]), rel=1e-4)


def test_corrupt_training_files_are_skipped_and_counted(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i in range(4):
        write_photo(photos / f"good{i}.jpg", 40, 36, seed=i)
    (photos / "text.jpg").write_text("not an image")
    truncated = write_photo(photos / "deep" / "truncated.png", 40, 40)
    truncated.write_bytes(truncated.read_bytes()[:200])  # the header reads, the pixels do not
    (photos / "empty.webp").write_bytes(b"")
    code, log = train(
        tmp_path / "run",
        "--content-dir",
        str(photos),
        "--val-fraction",
        "0",
        "--num-workers",
        "1",  # marks made in a worker process must reach the report
        "--noise-depth",
        "0",
        "--batch-size",
        "7",
    )
    assert code == 0, log
    warnings_ = [line for line in log.splitlines() if "unreadable" in line]
    assert len(warnings_) == 1, log
    assert "skipped 3 unreadable image file(s) (3 of 7 training)" in warnings_[0]
    assert read_checkpoint(tmp_path / "run").generator_config.noise_depth == 0  # type: ignore[union-attr]


def test_nothing_decodable_fails_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_text("nope")
    code, _ = train(tmp_path / "run", "--content-dir", str(photos))
    assert code == 2
    assert "can be decoded" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("flag", ["--content-dir", "--val-dir"])
def test_empty_folder_is_a_user_error(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no images here")
    code, _ = train(tmp_path / "run", flag, str(empty))
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no images found" in err and str(empty) in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_missing_folder_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = train(tmp_path / "run", "--content-dir", str(tmp_path / "nope"))
    assert code == 2
    assert "no such directory" in capsys.readouterr().err


def test_training_with_crops_per_photo_records_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--crops-per-photo 2`` trains (the pooling itself: tests/test_losses.py, the batches:
    tests/test_sampling.py) and the checkpoint records it; a batch it does not divide is a
    one-line error before anything is written."""
    code, log = train(tmp_path / "run", "--crops-per-photo", "2", "--batch-size", "4")
    assert code == 0, log
    assert read_checkpoint(tmp_path / "run").config["crops_per_photo"] == 2
    capsys.readouterr()
    code, _ = train(tmp_path / "bad", "--crops-per-photo", "3", "--batch-size", "4")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: crops_per_photo must divide batch_size 4, got 3")
    assert not (tmp_path / "bad").exists()


def test_johnson_checkpoint(johnson_run: Path) -> None:
    info = read_checkpoint(johnson_run, expect_mode="stylize")
    assert info.architecture == "johnson"
    assert info.generator_config == JohnsonConfig(residual_blocks=1)
    assert isinstance(info.build_network(), JohnsonNet)
    with pytest.raises(CheckpointError, match="johnson"):
        info.build_generator()


# -- generation -------------------------------------------------------------------------------


def test_stylize_one_file_keeps_stem_size_and_orientation(
    builtin_run: tuple[Path, str], tmp_path: Path
) -> None:
    run, _ = builtin_run
    photo = write_photo(tmp_path / "in" / "holiday.photo.jpg", 53, 37)
    assert generate("--checkpoint", run, "--content", photo, "--out", tmp_path / "out") == 0
    assert sizes(tmp_path / "out") == {"holiday.photo_brick.png": (53, 37)}
    # EXIF orientation 6 (rotate 90 degrees): the output is upright, 37 x 53
    rotated = tmp_path / "in" / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(photo).save(rotated, exif=exif)
    assert oriented_size(rotated) == (37, 53)
    assert generate("--checkpoint", run, "--content", rotated, "--out", tmp_path / "rot") == 0
    assert sizes(tmp_path / "rot") == {"rotated_brick.png": (37, 53)}


def test_stylize_folder_keeps_names_and_sizes(
    builtin_run: tuple[Path, str], photos: Path, tmp_path: Path
) -> None:
    run, _ = builtin_run
    out = tmp_path / "out"
    assert generate("--checkpoint", run, "--content", photos, "--out", out, "--batch-size", 3) == 0
    assert sizes(out) == {
        "cat_brick.png": (53, 37),
        "same_a_brick.png": (40, 40),
        "same_b_brick.png": (40, 40),
        "sub/dog_brick.png": (47, 33),
        "tall_brick.png": (35, 61),
    }
    # batching does not change a result: same-size photos stylized one by one agree
    single = tmp_path / "single"
    assert (
        generate("--checkpoint", run, "--content", photos, "--out", single, "--batch-size", 1) == 0
    )
    for name in ("same_a_brick.png", "same_b_brick.png"):
        a = np.asarray(Image.open(out / name), dtype=np.int16)
        b = np.asarray(Image.open(single / name), dtype=np.int16)
        assert np.abs(a - b).max() <= 1, name


def test_size_and_content_scale(
    builtin_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = builtin_run
    photo = write_photo(tmp_path / "p.png", 60, 40)
    out = tmp_path / "out"
    assert generate("--checkpoint", run, "--content", photo, "--out", out, "--size", 90) == 0
    assert sizes(out) == {"p_brick.png": (90, 60)}
    scaled = tmp_path / "scaled"
    args = ["--checkpoint", run, "--content", photo, "--out", scaled, "--content-scale", "0.5"]
    assert generate(*args) == 0
    assert sizes(scaled) == {"p_brick.png": (60, 40)}  # stylized at 30x20, output at 60x40
    assert generate("--checkpoint", run, "--content", photo, "--out", out, "--size", "60x40") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument --size: with --content, one positive number")
    assert err.count("\n") == 1


def test_work_size_is_the_training_scale_times_content_scale() -> None:
    assert work_size_for((90, 60), 1.0) == (90, 60)  # no recorded scale: the output size
    assert work_size_for((90, 60), 0.5) == (45, 30)
    assert work_size_for((1024, 768), 1.0, photo_size=512) == (512, 384)
    assert work_size_for((1024, 768), 0.5, photo_size=512) == (256, 192)
    assert work_size_for((300, 200), 1.0, photo_size=480) == (480, 320)  # upscaled to it


def test_a_stylizer_paints_at_its_training_scale_whatever_the_output_size(
    builtin_run: tuple[Path, str], tmp_path: Path
) -> None:
    """A model that records photo_size 40 paints a photo at longer side 40 (x content scale)
    for any --size: the same pixels as the unscaled model at the matching content scale."""
    run, _ = builtin_run
    model = tn.load(run, device="cpu")
    model.info.training["photo_size"] = 40
    scaled_model = model.save_pretrained(tmp_path / "model")
    photo = write_photo(tmp_path / "p.png", 60, 40)
    for size, factor in ((120, "0.3333333333"), (60, "0.6666666667")):
        at_scale, by_hand = tmp_path / f"scale{size}", tmp_path / f"hand{size}"
        common = ["--content", photo, "--size", size]
        assert generate("--checkpoint", scaled_model, *common, "--out", at_scale) == 0
        assert (
            generate("--checkpoint", run, *common, "--content-scale", factor, "--out", by_hand) == 0
        )
        a = np.asarray(Image.open(at_scale / "p_brick.png"))
        b = np.asarray(Image.open(by_hand / "p_brick.png"))
        assert a.shape == (size * 2 // 3, size, 3)
        assert np.array_equal(a, b)
    half = tmp_path / "half"
    args = ["--content", photo, "--size", 120, "--content-scale", "0.5", "--out", half]
    assert generate("--checkpoint", scaled_model, *args) == 0  # painted at 20x13, not 60x40
    assert not np.array_equal(
        np.asarray(Image.open(half / "p_brick.png")),
        np.asarray(Image.open(tmp_path / "scale120" / "p_brick.png")),
    )


def test_too_small_photo(
    builtin_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = builtin_run
    photo = write_photo(tmp_path / "tiny.png", 3, 12)
    assert generate("--checkpoint", run, "--content", photo, "--out", tmp_path / "o") == 2
    assert "too small" in capsys.readouterr().err


def test_original_colors_keep_the_content_chroma(
    builtin_run: tuple[Path, str], tmp_path: Path
) -> None:
    run, _ = builtin_run
    photo = write_photo(tmp_path / "p.png", 48, 40, smooth=True)
    out = tmp_path / "out"
    plain = tmp_path / "plain"
    assert generate("--checkpoint", run, "--content", photo, "--out", plain) == 0
    args = ["--checkpoint", run, "--content", photo, "--out", out, "--original-colors"]
    assert generate(*args) == 0

    def ycbcr(path: Path) -> torch.Tensor:
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
        return rgb_to_ycbcr(torch.from_numpy(pixels).permute(2, 0, 1))

    content, kept, free = ycbcr(photo), ycbcr(out / "p_brick.png"), ycbcr(plain / "p_brick.png")
    chroma_error = (kept[1:] - content[1:]).abs()
    assert chroma_error.mean() < 0.005 and chroma_error.max() < 0.03
    assert (free[1:] - content[1:]).abs().mean() > 0.01  # without the flag the chroma differs
    torch.testing.assert_close(kept[0], free[0], atol=0.03, rtol=0)  # luminance is the output's


def test_johnson_generates_any_size(johnson_run: Path, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert generate("--checkpoint", johnson_run, "--content", photos, "--out", out) == 0
    assert sizes(out) == {
        "cat_brick.png": (53, 37),
        "same_a_brick.png": (40, 40),
        "same_b_brick.png": (40, 40),
        "sub/dog_brick.png": (47, 33),
        "tall_brick.png": (35, 61),
    }


def test_unreadable_files_in_a_folder_are_skipped(
    builtin_run: tuple[Path, str], photos: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run, _ = builtin_run
    (photos / "broken.jpg").write_text("nope")
    assert generate("--checkpoint", run, "--content", photos, "--out", tmp_path / "out") == 0
    assert len(sizes(tmp_path / "out")) == 5
    assert "skipped 1 of 6 file(s)" in caplog.text


def test_wrong_mode_checkpoints(
    builtin_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = builtin_run
    assert generate("--texture", run, "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "stylize-mode checkpoint" in err and "--content" in err and err.count("\n") == 1

    texture = tmp_path / "texture"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = ["--texture", "builtin:brick", "--out", str(texture), "--max-steps", "1"]
        tiny = [*TINY[:10], "--style-layers", "relu1_1,relu2_1", "--style-size", "48"]
        assert train_cli.main([*args, *tiny, "--sample-every", "0", "--precision", "fp32"]) == 0
    photo = write_photo(tmp_path / "p.png", 40, 40)
    assert generate("--checkpoint", texture, "--content", photo, "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "texture-mode checkpoint" in err and err.count("\n") == 1


def test_generate_content_errors(
    builtin_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = builtin_run
    assert generate("--checkpoint", run, "--content", tmp_path / "nope.jpg", "--out", tmp_path) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert generate("--checkpoint", run, "--content", tmp_path / "empty", "--out", tmp_path) == 2
    assert "no images found" in capsys.readouterr().err
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    assert generate("--checkpoint", run, "--content", bad, "--out", tmp_path) == 2
    assert "bad.jpg" in capsys.readouterr().err


# -- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(8, 8), (13, 21), (40, 29), (64, 64)])
def test_johnson_any_size(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    net = JohnsonNet(JohnsonConfig(channels=4, residual_blocks=1)).eval()
    out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert out.min() >= 0 and out.max() <= 1


def test_johnson_layout() -> None:
    net = JohnsonNet(JohnsonConfig())
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    assert all(m.padding_mode == "reflect" for m in convs)
    assert [c.kernel_size[0] for c in (convs[0], convs[-1])] == [9, 9]
    assert [c.out_channels for c in convs[:3]] == [32, 64, 128]
    assert sum(1 for m in net.modules() if isinstance(m, nn.InstanceNorm2d)) == 3 + 2 * 5 + 2
    assert sum(1 for m in net.modules() if isinstance(m, nn.Upsample)) == 2
    with pytest.raises(ValueError, match="too small"):
        net(torch.rand(1, 3, 7, 30))


def test_generator_config_keys() -> None:
    config = make_config({"mode": "stylize", "generator": "johnson", "residual_blocks": 3})
    assert config.network_config == JohnsonConfig(residual_blocks=3)
    keys = {"johnson_channels": 8, "downsamples": 3, "photo_skip": True}
    config = make_config({"mode": "stylize", "generator": "johnson", **keys})
    assert config.network_config == JohnsonConfig(channels=8, downsamples=3, photo_skip=True)
    assert make_config({"mode": "stylize", "noise_depth": 0}).network_config.noise_depth == 0  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="johnson"):
        make_config({"generator": "johnson"})  # texture mode
    with pytest.raises(ConfigError, match="val_fraction"):
        make_config({"val_fraction": 1.0})


def test_color_round_trip_and_preserve() -> None:
    images = torch.rand(2, 3, 5, 7)
    torch.testing.assert_close(ycbcr_to_rgb(rgb_to_ycbcr(images)), images)
    torch.testing.assert_close(preserve_colors(images, images), images)
    gray = torch.full((1, 3, 4, 4), 0.5)
    content = torch.tensor([0.6, 0.4, 0.5]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    result = rgb_to_ycbcr(preserve_colors(gray, content))
    torch.testing.assert_close(result[:, 0], rgb_to_ycbcr(gray)[:, 0])
    torch.testing.assert_close(result[:, 1:], rgb_to_ycbcr(content)[:, 1:])


def test_photo_dataset_replaces_unreadable_items(tmp_path: Path) -> None:
    good = [write_photo(tmp_path / f"{i}.png", 20, 30, seed=i) for i in range(2)]
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    dataset = PhotoDataset([str(good[0]), str(bad), str(good[1])], val_transform(16))
    expected = dataset[2]
    assert torch.equal(dataset[1], expected)  # the next readable photo stands in
    assert dataset.unreadable_files == [str(bad)]
    assert len(dataset.first_readable(5)) == 2
    with pytest.raises(UserError, match="none of the 1 photos"):
        PhotoDataset([str(bad)], val_transform(16))[0]


def test_photo_split(tmp_path: Path) -> None:
    for i in range(20):
        write_photo(tmp_path / "p" / f"{i:02d}.png", 4, 4, seed=i)
    split = photo_split(str(tmp_path / "p"), None, 0.1, seed=0)
    assert len(split.val) == 2 and len(split.train) == 18
    assert not set(split.val) & set(split.train)
    assert split == photo_split(str(tmp_path / "p"), None, 0.1, seed=0)
    everything = photo_split(str(tmp_path / "p"), None, 0.0, seed=0)
    assert everything.train == everything.val and len(everything.train) == 20
    builtin = photo_split(None, None, 0.1, seed=0)
    assert builtin.train == [f"builtin:{name}" for name in BUILTIN_PHOTOS]


def test_plan_names_and_batches(photos: Path, tmp_path: Path) -> None:
    (photos / "cat.png").write_bytes((photos / "tall.png").read_bytes())  # cat.jpg + cat.png
    sources = sorted(p for p in photos.rglob("*") if p.is_file())
    options = StylizeOptions(batch_size=2)
    jobs, skipped = plan(sources, photos, tmp_path, "wave", options, smallest=8)
    assert not skipped
    names = sorted(str(job.output.relative_to(tmp_path)) for job in jobs)
    assert names == [
        "cat_png_wave.png",
        "cat_wave.png",
        "same_a_wave.png",
        "same_b_wave.png",
        "sub/dog_wave.png",
        "tall_wave.png",
    ]
    grouped = batches(jobs, 2)
    assert sorted(len(b) for b in grouped) == [1, 1, 2, 2]  # tall.png and cat.png: one size
    assert all(len({job.work_size for job in batch}) == 1 for batch in grouped)
