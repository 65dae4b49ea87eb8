"""Reliability: bad input -> one line + exit 2 in every command; odd images work end to end;
SIGTERM, SIGKILL and reruns leave usable, reproducible files.

``docs/reliability.md`` tabulates the inputs and the messages. Related tests elsewhere:
``test_train_generate.py`` (train.py's input errors, Ctrl-C, NaN, resume), ``test_image.py``
(decoding, image bombs, EXIF, atomic writes), ``test_stylize.py`` (photo folders: unreadable
files skipped and counted, empty folders), ``test_checkpoint.py`` (damaged checkpoints).

Tiny runs: random VGG16 descriptor, 32 px, 3 scales, 1-3 steps.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from texture_nets.cli import compare as compare_cli
from texture_nets.cli import export as export_cli
from texture_nets.cli import gatys as gatys_cli
from texture_nets.cli import generate as generate_cli
from texture_nets.cli import train as train_cli
from texture_nets.image import save_image
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.training.callbacks import AtomicCheckpointIO

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--descriptor", "random", "--image-size", "32", "--batch-size", "2", "--num-scales", "3",
    "--style-layers", "relu1_1,relu2_1", "--style-size", "48", "--log-every", "1",
    "--sample-every", "0", "--checkpoint-every", "2", "--precision", "fp32", "--logger", "csv",
    "--num-workers", "0",
]  # fmt: skip
STYLIZE_TINY = ["--content-layers", "relu2_1", "--val-batches", "1", "--val-samples", "1"]
GATYS_TINY = [
    "--descriptor", "random", "--descriptor-arch", "vgg16", "--style-layers", "relu1_1,relu2_1",
    "--size", "32", "--precision", "fp32", "--steps", "1",
]  # fmt: skip
COMPARE_TINY = ["--gatys-steps", "1", "--size", "32", "--samples", "1", "--descriptor", "random"]
COMPARE_TINY += ["--methods", "network,gatys"]  # the default runs every installed method


def random_image(path: Path, width: int, height: int, seed: int = 0, mode: str = "RGB") -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).convert(mode).save(path)
    return path


def train(texture: Path | str, out: Path, steps: int, *extra: str, style: bool = False) -> int:
    flag = "--style" if style else "--texture"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        argv = [flag, str(texture), "--out", str(out), "--max-steps", str(steps), *TINY, *extra]
        return train_cli.main(argv)


def one_line_error(
    main: Callable[[list[str]], int], argv: list[Any], capsys: pytest.CaptureFixture[str]
) -> str:
    """Run a CLI that must refuse its input: exit 2, ``error: ...`` on one line, no traceback."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), err
    return lines[-1]


def files_under(*roots: Path) -> dict[Path, tuple[int, int]]:
    """Every file and folder below ``roots``, with its size and modification time: equal
    before and after a refused command means it wrote, changed and deleted nothing there."""
    return {
        path: (path.stat().st_size, path.stat().st_mtime_ns)
        for root in roots
        for path in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="module")
def example(shared: Path) -> Path:
    return random_image(shared / "example.png", 40, 40)


@pytest.fixture(scope="module")
def texture_run(shared: Path, example: Path) -> Path:
    run = shared / "texture_run"
    assert train(example, run, 2) == 0
    return run


@pytest.fixture(scope="module")
def stylize_run(shared: Path, example: Path) -> Path:
    photos = shared / "photos"
    random_image(photos / "a.png", 40, 36, seed=1)
    random_image(photos / "b.jpg", 36, 44, seed=2)
    run = shared / "stylize_run"
    extra = ["--content-dir", str(photos), *STYLIZE_TINY]
    assert train(example, run, 1, *extra, style=True) == 0
    return run


@pytest.fixture(scope="module")
def damaged_checkpoint(shared: Path, texture_run: Path) -> Path:
    """The texture run's checkpoint with one weight of the wrong shape (settings intact), in
    the last step's weights and in their moving average (the texture default keeps one)."""
    return damage(texture_run, shared / "damaged.ckpt", ("generator.", "generator_average."))


def damage(run: Path, path: Path, prefixes: tuple[str, ...]) -> Path:
    """``run``'s checkpoint with the first weight under each of ``prefixes`` of a wrong shape."""
    raw = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    for prefix in prefixes:
        key = next(k for k in raw["state_dict"] if k.startswith(prefix) and "weight" in k)
        raw["state_dict"][key] = torch.zeros(1, 2, 3)
    torch.save(raw, path)
    return path


# -- generate.py ------------------------------------------------------------------------------

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--texture", "{tmp}/nope"], "nope: no such checkpoint file or run directory"),
        (["--texture", "{bad}/text.jpg"], "text.jpg is not a texture-nets checkpoint"),
        (["--texture", "{damaged}"], "weights do not match its config (size mismatch for"),
        (["--texture", "{tex}", "--out", "{bad}/afile"], "afile is a file, expected a folder"),
        (["--texture", "{tex}", "--out", "{bad}/afile/sub"], "afile is a file, so no folder"),
        (["--texture", "{tex}", "--size", "0"], "argument --size: size must be positive"),
        (["--texture", "{tex}", "--size", "-5"], "size must be N or WIDTHxHEIGHT, got '-5'"),
        (["--texture", "{tex}", "--size", "64x0"], "size must be positive, got '64x0'"),
        (["--texture", "{tex}", "--size", "4"], "this generator needs at least 5 px per side"),
        (["--texture", "{tex}", "--count", "0"], "--count: must be a positive integer, got 0"),
        (["--texture", "{tex}", "--count", "-2"], "--count: must be a positive integer, got -2"),
        (["--texture", "{tex}", "--count", "many"], "--count: expected an integer, got 'many'"),
        (["--texture", "{tex}", "--batch-size", "0"], "--batch-size: must be a positive integer"),
        (["--texture", "{tex}", "--device", "bogus"], "--device bogus: not a device name"),
        pytest.param(
            ["--texture", "{tex}", "--device", "cuda"], "CUDA is not available", marks=no_cuda
        ),
        (["--texture", "{tex}", "--sed", "3"], "unrecognized arguments: --sed 3; did you mean"),
        (["--texture", "{tex}", "--format", "gif"], "argument --format: invalid choice: 'gif'"),
        ([], "the following arguments are required: --model"),
        (["--model", "{sty}", "--content", "{bad}/text.jpg"], "text.jpg is not an image"),
        (["--model", "{sty}", "--content", "{bad}/cut.jpg"], "cut.jpg: cannot decode"),
        (["--model", "{sty}", "--content", "{bad}/empty.png"], "empty.png is empty"),
        (["--model", "{sty}", "--content", "{bad}/bomb.png"], "bomb.png: image too large"),
        (["--model", "{sty}", "--content", "{bad}"], "could be stylized"),
        (["--model", "{sty}", "--content", "{img}", "--out", "{bad}/afile"], "is a file"),
        (["--model", "{sty}", "--content", "{img}", "--size", "0"], "one positive number"),
        (["--model", "{sty}", "--content", "{img}", "--content-scale", "0"], "positive"),
        (["--model", "{sty}", "--content", "{img}", "--content-scale", "x"], "a number"),
    ],
)
def test_generate_user_errors(
    args: list[str],
    message: str,
    shared: Path,
    monkeypatch: pytest.MonkeyPatch,
    texture_run: Path,
    stylize_run: Path,
    damaged_checkpoint: Path,
    example: Path,
    bad_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    places = {
        "tex": texture_run,
        "sty": stylize_run,
        "damaged": damaged_checkpoint,
        "img": example,
        "bad": bad_files["afile"].parent,
        "tmp": tmp_path,
    }
    argv = [a.format(**places) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    monkeypatch.chdir(tmp_path)  # a write relative to the working folder would show too
    before = files_under(tmp_path, shared)
    error = one_line_error(generate_cli.main, argv, capsys)
    assert message in error
    assert files_under(tmp_path, shared) == before  # nothing written, anywhere


def test_generate_out_of_memory_is_a_user_error(
    texture_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    def no_memory(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate")

    monkeypatch.setattr(generate_cli, "sample_textures", no_memory)
    argv = ["--texture", texture_run, "--size", "4096", "--out", tmp_path / "out"]
    error = one_line_error(generate_cli.main, argv, capsys)
    assert error == "error: out of memory at 4096x4096; lower --batch-size or --size"


# -- train.py: inputs beyond test_train_generate.py's table ------------------------------------


def test_unknown_yaml_key_lists_the_valid_keys(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "my.yaml"
    config.write_text("imag_size: 64\n")
    argv = ["--texture", example, "--config", config, "--out", tmp_path / "run"]
    error = one_line_error(train_cli.main, argv, capsys)
    assert "unknown config key(s) ['imag_size']; valid keys: mode, style_image" in error
    assert not (tmp_path / "run").exists()


def test_resume_refuses_another_network_or_mode(
    texture_run: Path,
    stylize_run: Path,
    damaged_checkpoint: Path,
    example: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "new"
    for extra, message in [
        (["--channels", "16"], "was trained with channels=8 (now 16); a run cannot change"),
        (["--num-scales", "4"], "was trained with num_scales=3 (now 4)"),
        (
            ["--accumulate-grad-batches", "2"],
            "was trained with accumulate_grad_batches=1 (now 2); a run cannot change it",
        ),
    ]:
        argv = [*TINY, "--texture", example, "--resume", texture_run, "--out", out, *extra]
        assert message in one_line_error(train_cli.main, argv, capsys)
    argv = [*TINY, "--texture", example, "--resume", stylize_run, "--out", out]
    error = one_line_error(train_cli.main, argv, capsys)
    assert "is a stylize-mode checkpoint, but texture mode was asked for; resume it with" in error
    crops = ["--batch-size", "2", "--crops-per-photo", "2"]  # where the photo stream resumes
    argv = [*TINY, "--style", example, "--resume", stylize_run, "--out", out, *crops]
    error = one_line_error(train_cli.main, argv, capsys)
    assert "was trained with crops_per_photo=1 (now 2); a run cannot change it midway" in error
    live_only = damage(texture_run, tmp_path / "live.ckpt", ("generator.",))  # average intact
    for damaged in (damaged_checkpoint, live_only):
        argv = [*TINY, "--texture", example, "--resume", damaged, "--out", out]
        assert "do not match its config" in one_line_error(train_cli.main, argv, capsys)
    assert not out.exists()


# -- odd but valid images work end to end -----------------------------------------------------


def odd_images(folder: Path) -> dict[str, tuple[int, int]]:
    """Every awkward PIL mode, as files; returns name -> expected output (width, height)."""
    rgb = np.random.default_rng(0).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    folder.mkdir(parents=True, exist_ok=True)
    image.convert("L").save(folder / "gray.png")
    image.convert("P").save(folder / "palette.png")
    image.convert("P").save(folder / "palette_t.png", transparency=0)
    rgba = np.dstack([rgb, np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))])
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    image.convert("LA").save(folder / "gray_alpha.png")
    image.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(folder / "deep16.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90 degrees: 30 x 40
    image.save(folder / "rotated.jpg", exif=exif.tobytes())
    assert Image.open(folder / "deep16.png").mode.startswith("I")
    assert Image.open(folder / "cmyk.jpg").mode == "CMYK"
    sizes = {path.stem: (40, 30) for path in folder.iterdir()}
    sizes["rotated"] = (30, 40)
    return sizes


@pytest.mark.parametrize("name", ["cmyk.jpg", "deep16.png", "rgba.png"])
def test_odd_images_train_and_generate(name: str, tmp_path: Path) -> None:
    odd_images(tmp_path / "odd")
    run = tmp_path / "run"
    assert train(tmp_path / "odd" / name, run, 1) == 0
    assert read_checkpoint(run).global_step == 1
    out = tmp_path / "samples"
    assert generate_cli.main(["--texture", str(run), "--size", "32", "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == [f"{Path(name).stem}_32x32_seed0.png"]


def test_odd_images_stylize(
    stylize_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expected = odd_images(tmp_path / "odd")
    out = tmp_path / "out"
    argv = ["--checkpoint", stylize_run, "--content", tmp_path / "odd", "--out", out]
    assert generate_cli.main([str(a) for a in argv]) == 0
    assert "skipped" not in caplog.text
    written = {p.name: Image.open(p).size for p in out.iterdir()}
    assert written == {f"{stem}_example.png": size for stem, size in expected.items()}
    single = tmp_path / "single"  # and one file on its own
    argv = ["--checkpoint", stylize_run, "--content", tmp_path / "odd" / "rotated.jpg"]
    assert generate_cli.main([*map(str, argv), "--out", str(single)]) == 0
    assert Image.open(single / "rotated_example.png").size == (30, 40)


def test_a_tiny_texture_is_upscaled_for_the_deepest_layer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tiny = random_image(tmp_path / "tiny.png", 6, 6)
    run = tmp_path / "run"
    deep = ["--style-layers", "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"]  # relu5_1: 4 poolings
    with caplog.at_level("INFO", logger="texture_nets"):
        assert train(tiny, run, 1, *deep, "--style-size", "512") == 0
    assert "tiny.png is 6x6, smaller than the 32 px a side" in caplog.text
    assert "upscaled to 32x32" in caplog.text
    assert read_checkpoint(run).global_step == 1


def test_a_large_style_image_is_resized_to_style_size(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    large = tmp_path / "large.jpg"
    ramp = np.linspace(0, 255, 3000, dtype=np.uint8)
    Image.fromarray(np.stack([np.tile(ramp, (2000, 1))] * 3, axis=-1)).save(large, quality=70)
    with caplog.at_level("INFO", logger="texture_nets"):
        assert train(large, tmp_path / "run", 1, "--style-size", "64") == 0
    assert f"style image {large} (64x43)" in caplog.text


# -- gatys and compare: the same inputs -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--texture", "{tmp}/missing.png"], "missing.png: no such file"),
        (["--texture", "{bad}"], "is a directory, expected an image file"),
        (["--texture", "{bad}/text.jpg"], "text.jpg is not an image PIL can read"),
        (["--texture", "{bad}/cut.jpg"], "cut.jpg: cannot decode image"),
        (["--texture", "{bad}/empty.png"], "empty.png is empty (0 bytes)"),
        (["--texture", "{bad}/bomb.png"], "bomb.png: image too large (100000x100000"),
        (["--style", "{img}", "--content", "{bad}/empty.png"], "empty.png is empty"),
        (["--style", "{bad}/bomb.png", "--content", "{img}"], "bomb.png: image too large"),
        (
            ["--texture", "{img}", "--out", "{bad}/afile/r.png"],
            "afile is a file, expected a folder",
        ),
        (["--texture", "{img}", "--steps", "0"], "--steps"),
        (["--texture", "{img}", "--steps", "-1"], "--steps"),
        (["--texture", "{img}", "--size", "0"], "size must be positive"),
        (["--texture", "{img}", "--style-size", "0"], "--style-size"),
        (["--texture", "{img}", "--lr", "0"], "--lr must be positive"),
        (["--texture", "{img}", "--style-weight", "-1"], "--style-weight must be >= 0"),
        (["--texture", "{img}", "--style-layers", "relu9_1"], "valid layers: relu1_1"),
        (["--texture", "{img}", "--stps", "3"], "did you mean --steps?"),
        (["--texture", "{img}", "--descriptor", "bogus"], "unknown descriptor source 'bogus'"),
        (["--texture", "{img}", "--device", "bogus"], "--device bogus"),
        pytest.param(
            ["--texture", "{img}", "--size", "8", "--style-layers", "relu1_1,relu5_1"],
            "--size",
        ),
    ],
)
def test_gatys_user_errors(
    args: list[str],
    message: str,
    shared: Path,
    monkeypatch: pytest.MonkeyPatch,
    example: Path,
    bad_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    places = {"img": example, "bad": bad_files["afile"].parent, "tmp": tmp_path}
    argv = [*GATYS_TINY, *(a.format(**places) for a in args)]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out" / "r.png")]
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path, shared)
    assert message in one_line_error(gatys_cli.main, argv, capsys)
    assert files_under(tmp_path, shared) == before


def test_gatys_odd_images(tmp_path: Path) -> None:
    odd_images(tmp_path / "odd")
    out = tmp_path / "r.png"
    style = ["--style", str(tmp_path / "odd" / "rgba.png")]
    assert (
        gatys_cli.main(
            [*GATYS_TINY, "--texture", str(tmp_path / "odd" / "cmyk.jpg"), "--out", str(out)]
        )
        == 0
    )
    content = ["--content", str(tmp_path / "odd" / "rotated.jpg"), "--content-layers", "relu2_1"]
    assert gatys_cli.main([*GATYS_TINY, *style, *content, "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size == (24, 32)  # longer side 32, EXIF-rotated


def test_gatys_tiny_texture_is_upscaled(tmp_path: Path) -> None:
    tiny = random_image(tmp_path / "tiny.png", 6, 6)
    argv = [*GATYS_TINY, "--style-layers", "relu1_1,relu5_1", "--texture", str(tiny)]
    assert gatys_cli.main([*argv, "--out", str(tmp_path / "r.png")]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--checkpoint", "{tmp}/nope"], "no such checkpoint file or run directory"),
        (["--checkpoint", "{bad}/text.jpg"], "is not a texture-nets checkpoint"),
        pytest.param(  # found only in the method's child process, after --out was made
            ["--checkpoint", "{damaged}"],
            "weights do not match its config",
            marks=pytest.mark.slow,
        ),
        (["--checkpoint", "{tex}", "--texture", "{bad}/text.jpg"], "text.jpg is not an image"),
        (["--checkpoint", "{tex}", "--texture", "{bad}/cut.jpg"], "cut.jpg: cannot decode"),
        (["--checkpoint", "{tex}", "--texture", "{bad}/empty.png"], "empty.png is empty"),
        (["--checkpoint", "{tex}", "--texture", "{bad}/bomb.png"], "bomb.png: image too large"),
        (["--checkpoint", "{tex}", "--texture", "{bad}"], "is a directory"),
        (["--checkpoint", "{tex}", "--out", "{bad}/afile"], "afile is a file"),
        pytest.param(
            ["--checkpoint", "{tex}", "--out", "{bad}/afile/sub"],
            "afile is a file",
        ),
        (["--checkpoint", "{tex}", "--size", "0"], "--size"),
        (["--checkpoint", "{tex}", "--samples", "0"], "--samples"),
        (["--checkpoint", "{tex}", "--gatys-steps", "-1"], "--gatys-steps"),
        (["--checkpoint", "{tex}", "--repeats", "0"], "--repeats"),
        (["--checkpoint", "{tex}", "--sampls", "3"], "did you mean --samples?"),
        (["--checkpoint", "{tex}", "--descriptor", "bogus"], "unknown descriptor source"),
        (["--checkpoint", "{tex}", "--device", "bogus"], "--device bogus"),
        (["--model", "{sty}", "--content", "{bad}/text.jpg"], "text.jpg is not an image"),
    ],
)
def test_compare_user_errors(
    args: list[str],
    message: str,
    shared: Path,
    monkeypatch: pytest.MonkeyPatch,
    texture_run: Path,
    stylize_run: Path,
    damaged_checkpoint: Path,
    bad_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    places = {
        "tex": texture_run,
        "sty": stylize_run,
        "damaged": damaged_checkpoint,
        "bad": bad_files["afile"].parent,
        "tmp": tmp_path,
    }
    argv = [*COMPARE_TINY, *(a.format(**places) for a in args)]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "cmp")]
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path, shared)
    assert message in one_line_error(compare_cli.main, argv, capsys)
    assert files_under(tmp_path, shared) == before


@pytest.mark.subprocess
@pytest.mark.slow  # compare runs each method in a fresh process
def test_compare_tiny_texture_is_upscaled(tmp_path: Path) -> None:
    tiny = random_image(tmp_path / "tiny.png", 6, 6)
    run = tmp_path / "run"
    assert train(tiny, run, 1, "--style-layers", "relu1_1,relu5_1") == 0
    argv = [*COMPARE_TINY, "--checkpoint", str(run), "--out", str(tmp_path / "cmp")]
    assert compare_cli.main(argv) == 0


# -- export: bad input -> one line, exit 2, nothing written -----------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing"], "missing: no such checkpoint file or run directory"),
        (["no_such_model"], "no such checkpoint file or run directory, saved model folder"),
        (["{bad}/text.jpg"], "text.jpg is not a texture-nets checkpoint"),
        (["{bad}/empty.png", "--out", "{tmp}/deep/er/model.onnx"], "not a texture-nets checkpoint"),
        (["{damaged}"], "do not match its config"),
        (["{bad}"], "without checkpoints"),
        (["{tex}", "--format", "tflite"], "argument --format: invalid choice: 'tflite'"),
        (["{tex}", "--out", "{bad}/afile/model.onnx"], "afile is a file, not a folder"),
    ],
)
def test_export_user_errors(
    args: list[str],
    message: str,
    texture_run: Path,
    damaged_checkpoint: Path,
    bad_files: dict[str, Path],
    shared: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without ``--out`` the file would be ``NAME.onnx`` in the working folder: that is
    ``tmp_path`` here, so a stray write there shows too."""
    places = {
        "tex": texture_run,
        "damaged": damaged_checkpoint,
        "bad": bad_files["afile"].parent,
        "tmp": tmp_path,
    }
    argv = [a.format(**places) for a in args]
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path, shared)
    assert message in one_line_error(export_cli.main, argv, capsys)
    assert files_under(tmp_path, shared) == before


# -- SIGTERM, SIGKILL, reruns -----------------------------------------------------------------


@pytest.mark.subprocess
def test_sigterm_leaves_a_resumable_checkpoint(example: Path, tmp_path: Path) -> None:
    """train.py in its own process, stopped by SIGTERM as a scheduler would: exit 130, a
    resumable last.ckpt, no temporary files; ``--resume auto`` then finishes the run."""
    run = tmp_path / "run"
    log = tmp_path / "train.log"
    command = [sys.executable, str(ROOT / "train.py"), "--texture", str(example)]
    command += ["--out", str(run), "--max-steps", "100000", *TINY]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    first_periodic = run / "checkpoints" / "step=000002.ckpt"
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 120
            while not first_periodic.exists():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "no checkpoint after 120 s\n" + log.read_text()
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text()
    assert code == 130, text
    assert "Traceback" not in text
    assert "resume with: python train.py --out" in text
    step = read_checkpoint(run).global_step
    assert step >= 2, text
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    assert train(example, run, step + 2, "--resume", "auto") == 0
    assert read_checkpoint(run).global_step == step + 2


def _train_in_a_child(
    example: Path, run: Path, steps: int, *extra: str, flag: str = "--texture"
) -> subprocess.Popen[bytes]:
    """``python train.py --texture example`` (or ``flag``) in its own process (output to
    ``run``.log)."""
    command = [sys.executable, str(ROOT / "train.py"), flag, str(example)]
    command += ["--out", str(run), "--max-steps", str(steps), *TINY, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    run.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{run}.log", "w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def _finish(process: subprocess.Popen[bytes], run: Path) -> None:
    try:
        code = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, Path(f"{run}.log").read_text()[-3000:]


def assert_same_last_checkpoint(straight: Path, halves: Path, steps: int) -> None:
    """Both runs' last.ckpt at ``steps``, bit for bit: weights, average, optimizer state."""
    a, b = (
        torch.load(r / "checkpoints" / "last.ckpt", weights_only=True) for r in (straight, halves)
    )
    assert a["global_step"] == b["global_step"] == steps
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert any(key.startswith("generator_average.") for key in a["state_dict"])
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    for one, two in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for slot, state in one["state"].items():
            for name, value in state.items():
                assert torch.equal(
                    torch.as_tensor(value), torch.as_tensor(two["state"][slot][name])
                )


@pytest.mark.slow
@pytest.mark.subprocess
def test_resume_in_a_new_process_is_bit_exact(example: Path, tmp_path: Path) -> None:
    """4 steps in one process = 2 steps, exit, then ``--resume auto`` to 4 in a new process,
    bit for bit: the weights, their moving average (``--ema-decay``), the optimizer state and
    the noise stream all come back from last.ckpt, not from a live process. (In-process
    resumes: test_train_generate.py.) ``--lr-schedule step`` with no decay in 4 steps: the
    first process's budget ends at 2 steps, so a cosine over the budget would differ.

    Texture mode here; stylize mode resumed inexactly until issue 27 (its photo order and crops
    came from the global RNG, which a new process does not restore; 2 + 2 steps differed
    from 4 by about 6e-3 in the weights), see the stylize test below."""
    flags = ["--lr-schedule", "step", "--ema-decay", "0.7", "--warmup-steps", "2"]
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    first = [
        _train_in_a_child(example, straight, 4, *flags),
        _train_in_a_child(example, halves, 2, *flags),
    ]  # both at once: the machine has two cores
    for process, run in zip(first, (straight, halves), strict=True):
        _finish(process, run)
    assert read_checkpoint(halves).global_step == 2
    before = read_checkpoint(halves).generator_state
    _finish(_train_in_a_child(example, halves, 4, *flags, "--resume", "auto"), halves)
    assert read_checkpoint(halves).config["resume"]  # resumed, not retrained from step 0
    assert_same_last_checkpoint(straight, halves, steps=4)
    after = read_checkpoint(halves).generator_state
    assert any(not torch.equal(before[key], after[key]) for key in after)  # it trained on


@pytest.mark.slow
@pytest.mark.subprocess
def test_stylize_resume_in_a_new_process_is_bit_exact(example: Path, tmp_path: Path) -> None:
    """A stylize run: 4 steps in one process = 2 steps, exit, then ``--resume auto`` to 4 in a
    new process, bit for bit (weights, average, optimizer state). The photo order and the
    crops come from (seed, step) (``training.sampling``), not from the global RNG a new
    process starts afresh. Three photos of odd sizes, so the 32 px crops can move; an epoch
    is 50 batches, so the resume lands mid-epoch; validation runs at step 2 in both runs."""
    photos = tmp_path / "photos"
    for seed, (width, height) in enumerate([(40, 36), (36, 44), (48, 40)], start=1):
        random_image(photos / f"p{seed}.png", width, height, seed=seed)
    flags = ["--content-dir", str(photos), *STYLIZE_TINY, "--sample-every", "2"]
    flags += ["--lr-schedule", "step", "--ema-decay", "0.7", "--val-fraction", "0"]
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    first = [
        _train_in_a_child(example, straight, 4, *flags, flag="--style"),
        _train_in_a_child(example, halves, 2, *flags, flag="--style"),
    ]  # both at once: the machine has two cores
    for process, run in zip(first, (straight, halves), strict=True):
        _finish(process, run)
    assert read_checkpoint(halves).global_step == 2
    resumed = _train_in_a_child(example, halves, 4, *flags, "--resume", "auto", flag="--style")
    _finish(resumed, halves)
    assert read_checkpoint(halves).config["resume"]
    assert_same_last_checkpoint(straight, halves, steps=4)


def test_same_seed_same_weights_and_samples(example: Path, tmp_path: Path) -> None:
    """Two identical runs give bit-identical weights and byte-identical PNGs; a seed differs."""
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        assert train(example, tmp_path / name, 3, "--seed", seed) == 0
        argv = ["--texture", tmp_path / name, "--size", "40x24", "--count", "2", "--seed", "5"]
        assert generate_cli.main([*map(str, argv), "--out", str(tmp_path / f"{name}_png")]) == 0
    a, b, c = (read_checkpoint(tmp_path / name).generator_state for name in "abc")
    assert a.keys() == b.keys() == c.keys()
    for key in a:
        assert a[key].numpy().tobytes() == b[key].numpy().tobytes(), key
    assert any(not torch.equal(a[key], c[key]) for key in a)

    def pngs(name: str) -> list[bytes]:
        return [p.read_bytes() for p in sorted((tmp_path / f"{name}_png").iterdir())]

    assert len(pngs("a")) == 2
    assert pngs("a") == pngs("b")
    assert pngs("a")[0] != pngs("a")[1]  # noise seeds 5 and 6
    assert all(x != y for x, y in zip(pngs("a"), pngs("c"), strict=True))


_WORDS = 4_000_000  # a 16 MB checkpoint: writing it takes most of the writer's time


def _write_forever(kind: str, path: str, done: Any) -> None:
    """The child: overwrite ``path`` again and again; ``done`` counts finished writes."""
    torch.set_num_threads(1)  # a forked child must not use the parent's OpenMP pool (hangs)
    noise = torch.rand(1, 3, 512, 512, generator=torch.Generator().manual_seed(0))
    for round_ in range(1, 1_000_000):
        if kind == "checkpoint":
            state = {"round": round_, "blob": torch.full((_WORDS,), float(round_))}
            AtomicCheckpointIO().save_checkpoint(state, path)
        else:
            noise[0, :, 0, 0] = round_ % 256 / 255
            save_image(noise, path)
        done.value = round_


@pytest.mark.subprocess
@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
@pytest.mark.parametrize("kind", ["checkpoint", "image"])
def test_sigkill_while_writing_never_leaves_a_truncated_file(kind: str, tmp_path: Path) -> None:
    """SIGKILL a process that keeps rewriting one file at random moments: the file is always
    complete (the old or the new version), and at most one hidden temporary sibling is left."""
    path = tmp_path / ("last.ckpt" if kind == "checkpoint" else "sample.png")
    context = multiprocessing.get_context("fork")
    moments = random.Random(0)
    strays_seen = 0
    for _ in range(8):
        done = context.RawValue("i", 0)  # no lock: the child dies while it is running
        child = context.Process(target=_write_forever, args=(kind, str(path), done))
        child.start()
        deadline = time.monotonic() + 30
        while done.value < 1:  # the file exists: from now on it must always be complete
            assert time.monotonic() < deadline and child.is_alive()
            time.sleep(0.002)
        time.sleep(moments.uniform(0, 0.08))
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
        if kind == "checkpoint":
            state = torch.load(path, weights_only=True)
            assert torch.equal(state["blob"], torch.full((_WORDS,), float(state["round"])))
        else:
            with Image.open(path) as image:
                image.verify()
            with Image.open(path) as image:
                assert image.size == (512, 512) and image.load() is not None
        strays = [p for p in tmp_path.iterdir() if p.name.startswith(f".{path.name}.")]
        assert len(strays) <= 1, strays
        strays_seen += len(strays)
        for stray in strays:
            stray.unlink()
        assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert strays_seen >= 1, "no kill landed during a write: the test proved nothing"
