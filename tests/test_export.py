"""ONNX export: the exported graph matches PyTorch on odd sizes it was not traced at."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from texture_nets.checkpoint import read_checkpoint
from texture_nets.export import OnnxRunner, export_onnx
from texture_nets.generator import Generator, make_inputs
from texture_nets.networks import seeded_noise

pytest.importorskip("onnxruntime", reason="the [export] extra (CI installs it)")


@pytest.mark.parametrize("run", ["tiny_texture_run", "tiny_stylize_run", "tiny_johnson_run"])
def test_onnx_matches_pytorch_on_odd_sizes(
    run: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    network = read_checkpoint(request.getfixturevalue(run)).build_network()
    runner = OnnxRunner(export_onnx(network, tmp_path / "model.onnx"), network)
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
