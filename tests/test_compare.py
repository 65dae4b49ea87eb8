"""``python -m texture_nets compare``: a trained network against the Gatys baseline.

Tiny runs: random VGG16 descriptor, 32 px, 2-3 training steps, 3 Gatys iterations. The
texture test goes through the command line (each method in a spawned process, as on a real
CPU run); the stylization tests use a hand-built checkpoint of a content-conditioned
multiscale generator.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from texture_nets.cli import compare as compare_cli
from texture_nets.cli import train as train_cli
from texture_nets.evaluation import compare, measure, plots
from texture_nets.evaluation.report import metric_label
from texture_nets.image import image_sha256
from texture_nets.inference.stylize import stylize_tensor
from texture_nets.nets.ulyanov import Generator, GeneratorConfig

TRAIN_TINY = [
    "--descriptor",
    "random",
    "--image-size",
    "32",
    "--num-scales",
    "3",
    "--style-layers",
    "relu1_1,relu2_1",
    "--precision",
    "fp32",
    "--logger",
    "none",
    "--sample-every",
    "0",
]
COMPARE_TINY = ["--gatys-steps", "3", "--size", "32", "--samples", "2", "--descriptor", "random"]
COMPARE_TINY += ["--methods", "network,gatys"]  # the default runs every installed method
METHOD_KEYS = {"images", "metrics", "seconds_per_image", "seconds", "memory"}
TEXTURE_METRICS = {
    "loss",
    "style_distance",
    "style_distance/relu1_1",
    "style_distance/relu2_1",
    "swd",
    "swd/relu1_1",
    "swd/relu2_1",
}


def random_image(path: Path, width: int, height: int, seed: int) -> Path:
    rng = torch.Generator().manual_seed(seed)
    pixels = (torch.rand(height, width, 3, generator=rng) * 255).byte().numpy()
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compare")


@pytest.fixture(scope="module")
def texture(shared: Path) -> Path:
    return random_image(shared / "example.png", 40, 40, seed=0)


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    return [
        random_image(tmp_path / "wide.png", 44, 30, seed=1),
        random_image(tmp_path / "tall.png", 30, 40, seed=2),
    ]


@pytest.fixture(scope="module")
def texture_run(texture: Path, shared: Path) -> Path:
    """A 2-step texture run (shared by the tests of this module: do not modify)."""
    run = shared / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = train_cli.main(
            ["--texture", str(texture), "--out", str(run), "--max-steps", "2", *TRAIN_TINY]
        )
    assert code == 0
    return run


def stylize_checkpoint(path: Path, style: Path, noise_depth: int = 3) -> Path:
    """What ``read_checkpoint`` needs of a stylize-mode run, built by hand."""
    config = GeneratorConfig(num_scales=3, channels=4, noise_depth=noise_depth, content_channels=3)
    torch.manual_seed(0)
    generator = Generator(config)
    train_config = {
        "mode": "stylize",
        "style_image": str(style),
        "descriptor": "random",
        "descriptor_arch": None,
        "pooling": "avg",
        "style_layers": ["relu1_1", "relu2_1"],
        "style_layer_weights": [1.0, 0.5],
        "style_size": 48,
        "style_weight": 2.0,
        "content_layers": ["relu2_1"],
        "content_weight": 1.0,
        "tv_weight": 0.0,
        "seed": 0,
    }
    torch.save(
        {
            "hyper_parameters": {
                "config": train_config,
                "generator": config.to_dict(),
                "descriptor_source": "random:vgg16:seed=0",
                "style_sha256": image_sha256(style),
            },
            "state_dict": {f"generator.{k}": v for k, v in generator.state_dict().items()},
            "global_step": 3,
        },
        path,
    )
    return path


@pytest.fixture
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def finite_numbers(value: Any) -> Iterator[float]:
    if isinstance(value, dict):
        for item in value.values():
            yield from finite_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from finite_numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def check_report(report: dict[str, Any], out: Path) -> None:
    assert set(report["methods"]) == {"gatys", "network"}
    for method in report["methods"].values():
        assert set(method) >= METHOD_KEYS
        assert method["seconds_per_image"] > 0
    assert all(math.isfinite(v) for v in finite_numbers(report))
    gatys, network = report["methods"]["gatys"], report["methods"]["network"]
    assert report["speed_ratio"] == pytest.approx(
        gatys["seconds_per_image"] / network["seconds_per_image"]
    )
    assert (out / report["outputs"]["grid"]).is_file()
    for name in [*report["outputs"]["images"], *report["outputs"]["gatys_loss_curves"]]:
        assert (out / name).is_file()
    markdown = (out / "report.md").read_text()
    assert "| metric | Gatys" in markdown
    assert "Speed ratio" in markdown
    assert "peak memory" in markdown and "wall time per image" in markdown
    for key in network["metrics"]:
        assert metric_label(key) in markdown


@pytest.mark.subprocess
def test_cli_texture_checkpoint(texture_run: Path, texture: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["--checkpoint", str(texture_run), "--texture", str(texture), "--out", str(out)]
    assert compare_cli.main([*args, *COMPARE_TINY, "--repeats", "3"]) == 0
    report = json.loads((out / "report.json").read_text())
    check_report(report, out)
    assert report["mode"] == "texture"
    assert report["descriptor"]["source"] == "random:vgg16:seed=0"
    assert report["settings"]["loss"]["style_layers"] == {"relu1_1": 1.0, "relu2_1": 1.0}
    gatys, network = report["methods"]["gatys"], report["methods"]["network"]
    assert set(gatys["metrics"]) >= TEXTURE_METRICS
    assert TEXTURE_METRICS | {"diversity"} <= set(network["metrics"])
    assert "diversity" not in gatys["metrics"]  # one Gatys image: no pairs
    assert gatys["images"] == 1 and network["images"] == 2
    assert gatys["iterations"] == [3]
    assert network["timed_passes"] == 3  # max(--repeats, samples), after one warm-up
    assert len(network["seconds"]) == 3
    # CPU: each method in its own spawned process, peak RSS measured there.
    for method in (gatys, network):
        memory = method["memory"]
        assert memory["how"] == "VmHWM after a clear_refs reset - VmRSS at start"
        assert memory["peak_bytes"] >= memory["baseline_bytes"] > 0
        # the increase is the peak over the baseline (clamped at 0): not an independent value
        assert memory["peak_increase_bytes"] == memory["peak_bytes"] - memory["baseline_bytes"]
    assert gatys["memory"]["peak_increase_bytes"] > 0  # the optimisation allocates
    assert "fresh process" in report["notes"]["memory"]
    with Image.open(out / "comparison.png") as grid:
        assert grid.width > 4 * 32 and grid.height > 32  # example | Gatys | 2 samples
    with Image.open(out / "images" / "network_seed1.png") as sample:
        assert sample.size == (32, 32)


def test_stylize_checkpoint(texture: Path, photos: list[Path], tmp_path: Path, quiet: None) -> None:
    checkpoint = stylize_checkpoint(tmp_path / "stylize.ckpt", texture)
    out = tmp_path / "cmp"
    options = compare.CompareOptions(
        checkpoint=str(checkpoint),
        out=out,
        style=str(texture),
        content=[str(p) for p in photos],
        size=32,
        samples=2,
        gatys_steps=3,
        descriptor="random",
        precision="fp32",
        repeats=2,
    )
    report = compare.compare(options, isolate=False)  # in-process: CPU memory not measured
    check_report(report, out)
    assert report == json.loads((out / "report.json").read_text())
    assert report["mode"] == "stylize"
    assert report["inputs"]["content_sizes"] == [[22, 32], [32, 24]]  # longer side 32
    loss = report["settings"]["loss"]
    assert loss["style_layers"] == {"relu1_1": 1.0, "relu2_1": 0.5}
    assert loss["content_layers"] == {"relu2_1": 1.0} and loss["style_weight"] == 2.0
    for name in ("gatys", "network"):
        metrics = report["methods"][name]["metrics"]
        assert {"content_distance", "content_distance/relu2_1", "content_ssim"} <= set(metrics)
        assert set(metrics) >= TEXTURE_METRICS
        assert -1 <= metrics["content_ssim"] <= 1
        assert report["methods"][name]["memory"]["peak_increase_bytes"] is None
    network = report["methods"]["network"]
    assert network["images"] == 4 and network["outputs_per_input"] == 2
    assert "diversity" in network["metrics"]
    assert report["methods"]["gatys"]["images"] == 2
    assert report["settings"]["gatys_init"] == "content"
    with Image.open(out / "images" / "00_wide_network_seed1.png") as image:
        assert image.size == (32, 22)
    with Image.open(out / "comparison.png") as grid:  # content | style | Gatys | 2 seeds
        assert grid.width > 5 * 30 and grid.height > 22 + 24


def test_stylize_adapter_matches_make_inputs() -> None:
    config = GeneratorConfig(num_scales=3, channels=4, noise_depth=2, content_channels=3)
    generator = Generator(config).eval()
    content = torch.rand(1, 3, 20, 28)
    first = stylize_tensor(generator, content, seed=5)
    assert first.shape == (1, 3, 20, 28)
    assert torch.equal(first, stylize_tensor(generator, content, seed=5))
    assert not torch.equal(first, stylize_tensor(generator, content, seed=6))
    without_noise = Generator(
        GeneratorConfig(num_scales=3, channels=4, noise_depth=0, content_channels=3)
    ).eval()
    assert torch.equal(
        stylize_tensor(without_noise, content, 0), stylize_tensor(without_noise, content, 1)
    )
    assert not without_noise.stochastic and generator.stochastic


def test_image_grid_sizes_columns_and_rows() -> None:
    rows = [
        [Image.new("RGB", (10, 20)), Image.new("RGB", (30, 5))],
        [Image.new("RGB", (12, 8)), Image.new("RGB", (4, 4))],
    ]
    grid = plots.image_grid(rows, ["a", "b"], gap=2)
    assert grid.height == 16 + 20 + 8 + 3 * 2
    assert grid.width >= 12 + 30 + 3 * 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--samples", "0"], "--samples"),
        (["--style", "STYLE", "--content", "STYLE"], "texture-mode checkpoint"),
        (["--size", "4"], "at least 5 px"),
        (["--texture", "missing.png"], "no such file"),
        (["--descriptor", "bogus"], "unknown descriptor source"),
        (["--out", "FILE"], "is a file"),
        (["--gatys-optimizer", "sgd"], "invalid choice"),
    ],
)
def test_cli_errors_exit_2(
    extra: list[str],
    message: str,
    texture_run: Path,
    texture: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    extra = [
        {"STYLE": str(texture), "FILE": str(a_file), "missing.png": str(tmp_path / "m.png")}.get(
            item, item
        )
        for item in extra
    ]
    args = ["--checkpoint", str(texture_run), "--out", str(tmp_path / "cmp"), *COMPARE_TINY]
    assert compare_cli.main([*args, *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "cmp" / "report.json").exists()


def test_cli_errors_for_stylize_checkpoints(
    texture: Path, photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = str(stylize_checkpoint(tmp_path / "stylize.ckpt", texture))
    cases = [
        (["--checkpoint", checkpoint, "--style", str(texture)], "give --content"),
        (
            ["--checkpoint", checkpoint, "--texture", str(texture), "--content", str(photos[0])],
            "stylize-mode checkpoint",
        ),
        (["--checkpoint", str(tmp_path / "none")], "no such checkpoint"),
        (["--checkpoint", str(photos[0])], "not a texture-nets checkpoint"),
        (["--checkpoint", checkpoint, "--content", str(photos[0]), "--size", "3"], "at least 5"),
    ]
    for args, message in cases:
        assert compare_cli.main([*COMPARE_TINY, *args, "--out", str(tmp_path / "cmp")]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("error: ") and message in error, error
        assert len(error.splitlines()) == 1


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_memory_probe_sees_an_allocation() -> None:
    probe = measure.MemoryProbe(torch.device("cpu"), isolated=True)
    probe.start()
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    memory = probe.stop()
    del block
    assert memory["peak_increase_bytes"] >= 56 * 2**20
    assert memory["how"].startswith("VmHWM")
    assert measure.MemoryProbe(torch.device("cpu"), isolated=False).stop() == {
        "peak_increase_bytes": None,
        "how": "not measured",
    }
