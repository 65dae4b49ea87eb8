"""The bf16 inference path: it runs convolutions in bf16 and normalisation in fp32, stays
bounded in memory, and ``auto`` takes it only for networks whose probe is within 2/255 of fp32,
a verdict that holds on every shipped model at another size and on another photo."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

import texture_nets as tn
from texture_nets.cli import generate as generate_cli
from texture_nets.errors import UserError
from texture_nets.image import load_image
from texture_nets.inference import fastpath
from texture_nets.inference.export import one_pass_bytes
from texture_nets.inference.fastpath import (
    BF16_SCALES,
    PROBE_MARGIN,
    TOLERANCE,
    Bf16Network,
    bf16_error,
    choose_bf16,
    pixel_error,
)
from texture_nets.inference.pretrained import shipped_models
from texture_nets.nets.johnson import JohnsonConfig
from texture_nets.nets.networks import (
    Network,
    NetworkConfig,
    build_network,
    render,
    run_network,
    seeded_noise,
)
from texture_nets.nets.ulyanov import GeneratorConfig
from texture_nets.precision import PRECISION_ENV

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _auto_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest pins auto to fp32 for the rest of the suite; here auto decides."""
    monkeypatch.delenv(PRECISION_ENV)


RANDOM: list[NetworkConfig] = [  # five scales: 0, 1 in bf16; 2, 3, 4 and their joins in fp32
    GeneratorConfig(num_scales=5, channels=4, noise_depth=2),
    GeneratorConfig(num_scales=5, channels=4, noise_depth=2, content_channels=3),
    JohnsonConfig(channels=4, residual_blocks=1),
]


def _inputs(network: Network, side: int, seed: int = 0) -> tuple[Tensor | None, Any]:
    content = None
    if network.config.takes_photo:
        content = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(seed))
    return content, seeded_noise(network.config, 1, side, side, seed)


@pytest.mark.parametrize("config", RANDOM, ids=lambda c: type(c).__name__)
def test_bf16_network_runs_fine_convolutions_in_bf16_and_the_rest_in_fp32(config: Any) -> None:
    """bf16: every convolution of Johnson's network and of Ulyanov's two finest scales (the
    output convolution included; its result is cast to fp32); fp32: the normalisation,
    Ulyanov's coarser scales and their joins."""
    network = build_network(config).eval()
    runner = Bf16Network(network)  # (its memory probe runs the network in fp32)
    seen: dict[str, torch.dtype] = {}

    def record(name: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Tensor) -> None:
            seen[name] = output.dtype

        return hook

    for name, module in runner.fast.named_modules():
        if isinstance(module, nn.Conv2d | nn.InstanceNorm2d):
            module.register_forward_hook(record(name))
    content, noise = _inputs(network, 32)
    output = run_network(cast(Network, runner), content, noise)
    assert output.dtype == torch.float32
    modules = dict(runner.fast.named_modules())
    for name, dtype in seen.items():
        if isinstance(modules[name], nn.InstanceNorm2d):
            assert dtype == torch.float32, name  # statistics of fp32 maps
            continue
        scale = None  # Ulyanov: the scale a block works at
        if name.startswith("input_blocks."):
            scale = int(name.split(".")[1])
        elif name.startswith(("join_blocks.", "joins.")):
            scale = config.num_scales - 2 - int(name.split(".")[1])
        coarse = scale is not None and scale >= BF16_SCALES
        assert dtype == (torch.float32 if coarse else torch.bfloat16), name
    if isinstance(config, GeneratorConfig):
        assert {n.split(".")[0] for n, d in seen.items() if d == torch.float32} >= {
            "input_blocks", "joins", "join_blocks"
        }  # fmt: skip
    with torch.no_grad():
        exact = run_network(network, content, noise)
    difference = (output - exact).abs().max().item()
    assert 0 < difference < 0.1  # rounded, not another image


def test_bf16_network_beyond_its_memory_budget_renders_the_exact_fp32_bands() -> None:
    network = build_network(RANDOM[1]).eval()
    content, noise = _inputs(network, 40)
    budget = one_pass_bytes(network, 1, 40, 40) / 2  # the one pass does not fit
    output = run_network(cast(Network, Bf16Network(network, budget)), content, noise)
    assert torch.equal(output, render(network, content, noise, max_memory=budget))


def test_auto_is_fp32_where_bf16_is_slow_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    network = build_network(RANDOM[2]).eval()
    monkeypatch.setattr(fastpath, "bf16_fast", lambda device: False)
    monkeypatch.setattr(fastpath, "bf16_error", lambda *a: pytest.fail("probed"))
    assert not choose_bf16("auto", network, CPU)
    assert not choose_bf16("fp32", network, CPU)


@pytest.mark.parametrize(("error", "chosen"), [((1.4, 5.9), True), ((1.6, 3.0), False),
                                               ((0.5, 6.1), False)])  # fmt: skip
def test_auto_takes_bf16_where_fast_only_within_the_tolerance(
    monkeypatch: pytest.MonkeyPatch, error: tuple[float, float], chosen: bool
) -> None:
    network = build_network(RANDOM[2]).eval()
    monkeypatch.setattr(fastpath, "bf16_fast", lambda device: True)
    monkeypatch.setattr(fastpath, "bf16_error", lambda *a: error)
    assert choose_bf16("auto", network, CPU) is chosen


def test_forced_bf16_warns_where_it_is_emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    network = build_network(RANDOM[2]).eval()
    monkeypatch.setattr(fastpath, "bf16_supported", lambda device: False)
    with pytest.warns(UserWarning, match="emulates it"):
        assert choose_bf16("bf16", network, CPU)
    monkeypatch.setattr(fastpath, "bf16_supported", lambda device: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert choose_bf16("bf16", network, CPU)


def test_a_bad_precision_is_a_user_error() -> None:
    with pytest.raises(UserError, match="precision 'fp16'"):
        tn.load("vangogh_starry_night", precision="fp16")


@pytest.mark.slow
def test_auto_keeps_every_shipped_model_it_takes_within_the_tolerance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe's verdict (128 px, the built-in photo) holds at 256 px on another photo and
    noise seed for every shipped model that auto runs in bf16 on a CPU with fast bf16; and
    auto does take bf16 for shipped models of both kinds (the path is used, not only safe)."""
    monkeypatch.setattr(fastpath, "bf16_fast", lambda device: True)  # decide as a bf16 CPU
    taken = set()
    for name in sorted(shipped_models()):
        model = tn.load(name, "cpu")
        if not model.bf16:
            continue
        taken.add(model.info.mode)
        config = model.network.config
        content = load_image("builtin:coffee", 256) if config.takes_photo else None
        height, width = content.shape[-2:] if content is not None else (256, 256)
        noise = seeded_noise(config, 1, height, width, seed=7)
        with torch.no_grad():
            exact = run_network(model.network, content, noise)
        fast = run_network(model.runner(None, float("inf")), content, noise)
        assert TOLERANCE.accepts(pixel_error(fast, exact)), name
    assert taken == {"texture", "stylize"}


def test_the_api_renders_with_the_models_precision() -> None:
    photo = load_image("builtin:coffee", 96)[0]
    exact = tn.Stylizer.from_pretrained("vangogh_starry_night", "cpu", precision="fp32")
    assert not exact.bf16 and exact.runner(None, float("inf")) is exact.network
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # emulated bf16 on a CPU without it
        fast = tn.Stylizer.from_pretrained("vangogh_starry_night", "cpu", precision="bf16")
        assert fast.bf16 and isinstance(fast.runner(None, float("inf")), Bf16Network)
        assert fast.runner(64, float("inf")) is fast.network  # bands of 64 rows: fp32
        pictures = [np.asarray(m.stylize(photo), dtype=float) for m in (exact, fast)]
        samples = [
            np.asarray(tn.TextureModel.from_pretrained("tn_pebbles", "cpu", p).sample(64), float)
            for p in ("fp32", "bf16")
        ]
    for one, other in (pictures, samples):
        assert one.shape == other.shape
        assert np.abs(one - other).max() > 0  # the bf16 runner made it
    assert np.abs(pictures[0] - pictures[1]).max() <= TOLERANCE.worst


def _pngs(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p), np.int16) for p in sorted(folder.glob("*.png"))}


@pytest.mark.parametrize("run", ["tiny_texture_run", "tiny_stylize_run", "tiny_johnson_run"])
def test_generate_precision_picks_the_path(
    run: str,
    generate_job: Callable[[str], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--precision auto`` where bf16 is slow is the exact ``fp32`` path; ``bf16`` is
    another one, a rounding away from it."""
    monkeypatch.setattr(fastpath, "bf16_fast", lambda device: False)
    job = generate_job(run)
    outputs = {}
    for precision in ("auto", "fp32", "bf16"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # emulated bf16
            out = tmp_path / precision
            assert generate_cli.main([*job, "--precision", precision, "--out", str(out)]) == 0
        outputs[precision] = _pngs(out)
    assert outputs["fp32"].keys() == outputs["bf16"].keys() and outputs["fp32"]
    for name, exact in outputs["fp32"].items():
        assert np.array_equal(outputs["auto"][name], exact)
        assert 0 < np.abs(outputs["bf16"][name] - exact).max() <= TOLERANCE.worst


def test_generate_refuses_bf16_with_onnxruntime(
    tiny_texture_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = ["--texture", str(tiny_texture_run), "--precision", "bf16", "--backend", "onnxruntime"]
    assert generate_cli.main(job) != 0
    assert "drop --precision bf16" in capsys.readouterr().err


RANDOM_SHAPES: list[NetworkConfig] = [
    GeneratorConfig(num_scales=5, channels=8, noise_depth=3),
    GeneratorConfig(
        num_scales=6, channels=16, noise_depth=3, content_channels=3, padding="reflect"
    ),
    GeneratorConfig(num_scales=4, channels=8, coarse_channels=4, noise_depth=2),
    JohnsonConfig(channels=8, residual_blocks=2),
    JohnsonConfig(channels=16, residual_blocks=3, downsamples=3),
]


def test_the_probe_predicts_random_networks_errors_at_other_sizes() -> None:
    """What makes auto safe: a network's bf16 error on other inputs and sizes stays within
    1 / PROBE_MARGIN of its probe's, so a probe within PROBE_MARGIN x the tolerance means
    the tolerance holds. Random weights (seeded) of several shapes, 160x112 px, other seeds
    (random networks sit near the tolerance, trained ones below: benchmarks.bf16_accuracy)."""
    for index, config in enumerate(RANDOM_SHAPES):
        torch.manual_seed(index)
        network = build_network(config).eval()
        probe = bf16_error(network)
        rng = torch.Generator().manual_seed(100 + index)
        content = torch.rand(1, 3, 112, 160, generator=rng) if config.takes_photo else None
        noise = seeded_noise(config, 1, 112, 160, seed=100 + index)
        with torch.no_grad():
            exact = run_network(network, content, noise)
        error = pixel_error(run_network(cast(Network, Bf16Network(network)), content, noise), exact)
        assert error[0] <= probe[0] / PROBE_MARGIN and error[1] <= probe[1] / PROBE_MARGIN


def test_the_environment_pins_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    network = build_network(RANDOM[2]).eval()
    monkeypatch.setattr(fastpath, "bf16_fast", lambda device: True)
    monkeypatch.setattr(fastpath, "bf16_error", lambda *a: (0.0, 0.0))
    assert choose_bf16("auto", network, CPU)
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert not choose_bf16("auto", network, CPU)
    assert choose_bf16("bf16", network, CPU)  # only auto follows it
    monkeypatch.setenv(PRECISION_ENV, "fp16")
    with pytest.raises(UserError, match="precision 'fp16'"):
        choose_bf16("auto", network, CPU)
