"""Slow integration tests: real (ONNX-imported, ImageNet-derived) VGG16 weights, real images."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from texture_nets.baselines.gatys import make_init, optimize_image
from texture_nets.cli import generate as generate_cli
from texture_nets.cli import train as train_cli
from texture_nets.image import load_image
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import sample_textures
from texture_nets.objective.losses import TextureLoss
from texture_nets.objective.weights import build_descriptor

pytestmark = pytest.mark.slow
LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


def texture_loss(descriptor_source: str, example: Path) -> tuple[torch.nn.Module, TextureLoss]:
    descriptor, _ = build_descriptor(descriptor_source, None, "avg", "relu4_1")
    loss = TextureLoss(dict.fromkeys(LAYERS, 1.0))
    with torch.no_grad():
        loss.set_style([descriptor(load_image(example, 256), LAYERS)])
    return descriptor, loss


def test_texture_network_learns_with_real_weights(
    shared_data: Path, onnx_descriptor_source: str, tmp_path: Path
) -> None:
    example = shared_data / "textures" / "tn_red_peppers.jpg"
    run = tmp_path / "run"
    args = [
        "--texture",
        str(example),
        "--out",
        str(run),
        "--descriptor",
        onnx_descriptor_source,
        "--image-size",
        "64",
        "--num-scales",
        "4",
        "--style-layers",
        ",".join(LAYERS),
        "--logger",
        "none",
        "--sample-every",
        "0",
        "--warmup-steps",
        "10",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train_cli.main([*args, "--max-steps", "1"]) == 0
        untrained = read_checkpoint(run).build_generator()
        assert train_cli.main([*args, "--max-steps", "120", "--resume", "auto"]) == 0
    info = read_checkpoint(run)
    assert info.descriptor_source.startswith("onnx:")
    descriptor, loss = texture_loss(onnx_descriptor_source, example)
    with torch.no_grad():
        before = loss(descriptor(sample_textures(untrained, 64, 64, [1, 2]), LAYERS)).total.item()
        after = loss(
            descriptor(sample_textures(info.build_generator(), 64, 64, [1, 2]), LAYERS)
        ).total.item()
    assert after < 0.3 * before, (before, after)
    assert (
        generate_cli.main(["--texture", str(run), "--size", "96x80", "--out", str(tmp_path / "s")])
        == 0
    )
    assert len(list((tmp_path / "s").glob("*.png"))) == 1


def test_gatys_texture_synthesis_with_real_weights(
    shared_data: Path, onnx_descriptor_source: str
) -> None:
    descriptor, loss = texture_loss(
        onnx_descriptor_source, shared_data / "textures" / "tn_bricks.jpg"
    )
    result = optimize_image(
        descriptor, loss, make_init("noise", (64, 64), None, 1.0, 0), 40, progress=False
    )
    assert result.best_loss < 0.2 * result.losses[0], (result.losses[0], result.best_loss)
