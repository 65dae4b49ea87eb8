"""ONNX export: the exported graph matches PyTorch on odd sizes it was not traced at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from texture_nets.cli import export as export_cli
from texture_nets.cli import generate as generate_cli
from texture_nets.inference.export import OnnxNetwork, export_onnx
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import seeded_noise
from texture_nets.nets.ulyanov import Generator, make_inputs

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


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p), np.int16) for p in sorted(folder.glob("*.png"))}


@pytest.mark.parametrize("run", ["tiny_texture_run", "tiny_stylize_run", "tiny_johnson_run"])
def test_generate_with_onnxruntime_matches_torch(
    run: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    checkpoint = str(request.getfixturevalue(run))
    if run == "tiny_texture_run":
        job = ["--texture", checkpoint, "--size", "45x37", "--count", "2"]
    else:
        photo = tmp_path / "photo.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (37, 45, 3), np.uint8)).save(
            photo
        )
        job = ["--checkpoint", checkpoint, "--content", str(photo)]
    outputs = {}
    for backend in ("torch", "onnxruntime"):
        out = tmp_path / backend
        assert generate_cli.main([*job, "--backend", backend, "--out", str(out)]) == 0
        outputs[backend] = _pixels(out)
    assert outputs["torch"].keys() == outputs["onnxruntime"].keys() and outputs["torch"]
    for name, expected in outputs["torch"].items():
        assert np.abs(outputs["onnxruntime"][name] - expected).max() <= 1, name


def test_export_command_writes_an_onnx_file(tiny_stylize_run: Path, tmp_path: Path) -> None:
    import onnx

    out = tmp_path / "model.onnx"
    assert export_cli.main([str(tiny_stylize_run), "--format", "onnx", "--out", str(out)]) == 0
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ["scale0", "scale1", "scale2"]
    height = graph.input[0].type.tensor_type.shape.dim[2]
    assert height.dim_param and not height.dim_value  # dynamic, not the traced size
