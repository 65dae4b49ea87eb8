"""ONNX export: the exported graph matches PyTorch on odd sizes it was not traced at, for
trained runs and for random networks of many shapes whose outputs vary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from texture_nets.cli import export as export_cli
from texture_nets.cli import generate as generate_cli
from texture_nets.inference.export import OnnxNetwork, export_onnx, one_pass_bytes, read_metadata
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.johnson import JohnsonConfig
from texture_nets.nets.networks import (
    Network,
    NetworkConfig,
    build_network,
    run_network,
    seeded_noise,
)
from texture_nets.nets.ulyanov import Generator, GeneratorConfig, make_inputs

pytest.importorskip("onnxruntime", reason="the [export] extra (CI installs it)")


@pytest.mark.parametrize("run", ["tiny_texture_run", "tiny_stylize_run", "tiny_johnson_run"])
def test_onnx_matches_pytorch_on_odd_sizes(
    run: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    network = read_checkpoint(request.getfixturevalue(run)).build_network()
    runner = OnnxNetwork(export_onnx(network, tmp_path / "model.onnx"), network)
    for height, width in ((37, 53), (61, 29)):
        content = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(1))
        noise = seeded_noise(network.config, 2, height, width, seed=3)
        with torch.no_grad():
            if isinstance(network, Generator):
                pyramid = make_inputs(
                    network.config,
                    noise or [],
                    content if network.config.content_channels else None,
                )
                expected, actual = network(pyramid), runner(pyramid)
            else:
                expected, actual = network(content), runner(content)
        assert actual.shape == expected.shape == (2, 3, height, width)
        assert (actual - expected).abs().max().item() <= 1e-3


RANDOM_NETWORKS = {
    "texture-3scales-8ch-circular": GeneratorConfig(num_scales=3, channels=8),
    "texture-5scales-4ch-zero-batchnorm": GeneratorConfig(
        num_scales=5, channels=4, padding="zero", norm="batch"
    ),
    "texture-4scales-coarse16-noise1": GeneratorConfig(
        num_scales=4, channels=6, coarse_channels=16, noise_depth=1, leaky_slope=0.2
    ),
    "stylize-3scales-16ch-reflect": GeneratorConfig(
        num_scales=3, channels=16, content_channels=3, padding="reflect"
    ),
    "stylize-2scales-content-only-batchnorm": GeneratorConfig(
        num_scales=2, channels=8, content_channels=3, noise_depth=0, norm="batch"
    ),
    "johnson-0blocks-instance": JohnsonConfig(channels=8, residual_blocks=0),
    "johnson-1block-batchnorm": JohnsonConfig(channels=8, residual_blocks=1, norm="batch"),
    "johnson-3blocks-16ch": JohnsonConfig(channels=16, residual_blocks=3),
    "johnson-photo-skip": JohnsonConfig(channels=8, residual_blocks=1, photo_skip=True),
    "johnson-3downsamples": JohnsonConfig(channels=4, residual_blocks=1, downsamples=3),
}


def random_network(config: NetworkConfig, seed: int = 0) -> Network:
    """``config``'s network with seeded random weights: the convolutions keep their random
    init; the norms' scales and shifts (identity at init, so a norm the export mishandled
    could go unnoticed) are drawn; batch norm's running statistics are those of a random
    batch, as after training (the init's mean 0, variance 1 would leave the output flat)."""
    torch.manual_seed(seed)
    network = build_network(config)
    generator = torch.Generator().manual_seed(seed)
    batch_norms = [m for m in network.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, nn.BatchNorm2d | nn.InstanceNorm2d) and module.affine:
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=generator))
                module.bias.copy_(torch.rand(module.bias.shape, generator=generator) - 0.5)
        for norm in batch_norms:
            norm.momentum = None  # a plain average over the calibration batch
        if batch_norms:
            side = network.config.min_side + 8
            run_network(network.train(), *_inputs(network, side, side, seed + 100))
    return network.eval()


def _inputs(network: Network, height: int, width: int, seed: int) -> tuple[Tensor | None, Any]:
    """A batch of two: photos (None for a texture generator) and noise (None for Johnson)."""
    content = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(seed))
    config = network.config
    texture = isinstance(config, GeneratorConfig) and not config.content_channels
    return None if texture else content, seeded_noise(config, 2, height, width, seed=seed + 1)


@pytest.mark.parametrize("name", RANDOM_NETWORKS)
def test_onnx_matches_pytorch_on_random_networks(name: str, tmp_path: Path) -> None:
    """onnxruntime = PyTorch (1e-4) at sizes the graph was not traced at, on outputs that
    vary across pixels and with the input (so a constant or input-blind graph fails)."""
    network = random_network(cast(NetworkConfig, RANDOM_NETWORKS[name]))
    runner = OnnxNetwork(export_onnx(network, tmp_path / "model.onnx"), network)
    assert not any(module.training for module in network.modules())  # export left it in eval
    smallest = network.config.min_side
    for seed, (height, width) in enumerate(  # odd sides, and multiples of 8 (no padding)
        [(smallest + 5, smallest + 22), (smallest + 14, smallest + 1), (8 * smallest, 16)]
    ):
        content, noise = _inputs(network, height, width, seed)
        with torch.no_grad():
            expected = run_network(network, content, noise)
            actual = run_network(cast(Network, runner), content, noise)
        assert actual.shape == expected.shape == (2, 3, height, width)
        assert (actual - expected).abs().max().item() <= 1e-4
        assert expected.std(dim=(2, 3)).min().item() > 1e-2  # varies across the picture
        assert (expected[0] - expected[1]).abs().mean().item() > 1e-2  # and with the input


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p), np.int16) for p in sorted(folder.glob("*.png"))}


@pytest.mark.parametrize("run", ["tiny_texture_run", "tiny_stylize_run", "tiny_johnson_run"])
def test_generate_with_onnxruntime_matches_torch(
    run: str, generate_job: Callable[[str], list[str]], tmp_path: Path
) -> None:
    job = generate_job(run)
    outputs = {}
    for backend in ("torch", "onnxruntime"):
        out = tmp_path / backend
        argv = [*job, "--backend", backend, "--precision", "fp32", "--out", str(out)]
        assert generate_cli.main(argv) == 0
        outputs[backend] = _pixels(out)
    assert outputs["torch"].keys() == outputs["onnxruntime"].keys() and outputs["torch"]
    for name, expected in outputs["torch"].items():
        assert np.abs(outputs["onnxruntime"][name] - expected).max() <= 1, name


def test_export_command_writes_one_graph_with_its_metadata(
    tiny_stylize_run: Path, tmp_path: Path
) -> None:
    """One graph: the photo and one noise input of the same dynamic size (not a pyramid);
    the metadata says what to feed it and what the model is."""
    import onnx

    out = tmp_path / "model.onnx"
    assert export_cli.main([str(tiny_stylize_run), "--format", "onnx", "--out", str(out)]) == 0
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ["content", "noise"]
    for name in ("content", "noise"):
        dims = next(i for i in graph.input if i.name == name).type.tensor_type.shape.dim
        assert [d.dim_param for d in dims] == ["batch", "", "height", "width"]
    config = read_checkpoint(tiny_stylize_run).generator_config
    assert isinstance(config, GeneratorConfig)
    metadata = read_metadata(out)
    assert metadata["kind"] == "stylize" and metadata["architecture"] == "ulyanov"
    assert f"noise: (B, {config.num_scales * config.noise_depth}, H, W)" in metadata["inputs"]
    assert metadata["training_photo_size"] == "0" and "terms" in metadata


@pytest.mark.parametrize("run", ["tiny_texture_run", "tiny_stylize_run", "tiny_johnson_run"])
def test_the_graph_runs_on_plain_arrays(
    run: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """What a user of another language does: uniform noise of the stated shape and a photo,
    straight into onnxruntime: an image of the photo's size in [0, 1] that changes with the
    noise (Ulyanov) or the photo (Johnson)."""
    import onnxruntime

    network = read_checkpoint(request.getfixturevalue(run)).build_network()
    session = onnxruntime.InferenceSession(str(export_onnx(network, tmp_path / "m.onnx")))
    rng = np.random.default_rng(0)
    inputs = {i.name: i.shape[1] for i in session.get_inputs()}

    def feeds() -> dict[str, np.ndarray]:
        return {name: rng.random((1, depth, 45, 38), np.float32) for name, depth in inputs.items()}

    first, second = (session.run(None, feeds())[0] for _ in range(2))
    assert first.shape == (1, 3, 45, 38)
    assert first.min() >= 0 and first.max() <= 1
    assert np.abs(first - second).mean() > 1e-3


@pytest.mark.parametrize("run", ["tiny_texture_run", "tiny_johnson_run"])
def test_an_image_over_the_memory_budget_is_made_in_bands_not_by_onnxruntime(
    run: str, request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``max_memory`` below the one-pass estimate: the banded PyTorch executor makes the
    image (onnxruntime is never called), with the same pixels and a warning; above it,
    onnxruntime runs."""
    network = read_checkpoint(request.getfixturevalue(run)).build_network()
    runner = OnnxNetwork.from_network(network, tmp_path, max_memory=1e4)
    calls = []
    session_run = runner.session.run
    runner.session.run = lambda *args: calls.append(1) or session_run(*args)  # type: ignore[method-assign]
    content, noise = _inputs(network, 45, 38, seed=0)
    with torch.no_grad():
        expected = run_network(network, content, noise)
        actual = run_network(cast(Network, runner), content, noise)
    assert not calls and "banded PyTorch executor" in caplog.text
    assert (actual - expected).abs().max().item() <= 1e-4
    runner.max_memory = one_pass_bytes(network, 2, 45, 38)
    run_network(cast(Network, runner), content, noise)
    assert calls == [1]
