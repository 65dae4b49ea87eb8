"""A stylizer learns: a few dozen steps make its loss and its style distance fall.

The stylize counterpart of ``test_integration.py::test_texture_network_learns_with_real_weights``
(slow: 120 steps at 64 px), kept fast: 32 px crops, batch 2, the two shallowest style layers,
fixed seeds. The descriptor has real weights (the offline ONNX VGG16, as there): with random
weights a falling loss would say little about stylization. The photos are smooth colour
gradients, the style is saturated diagonal stripes: an untrained network is far from the
style's Grams, and a trained one must paint stripes into the photos to get closer.
Measured at 30 steps: the loss fell to 0.45x, the style distance to 0.55x; the bounds (0.6x,
0.75x) leave room for other CPUs' float rounding, and still fail a stylizer that does not learn.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from texture_nets.cli import train as train_cli
from texture_nets.evaluation.metrics import StyleDistance
from texture_nets.image import load_image
from texture_nets.nets.checkpoint import CheckpointInfo, read_checkpoint
from texture_nets.nets.networks import run_network, seeded_noise
from texture_nets.objective.objective import Objective, loss_settings
from texture_nets.training.data import PhotoDataset, val_transform

STEPS = 30
SIDE = 32


def smooth_photo(path: Path, seed: int) -> None:
    y, x = np.mgrid[0:40, 0:48]
    channels = [
        0.5 + 0.3 * np.sin(x / (6 + c + seed) + y / (9 + 2 * c) + c + seed) for c in range(3)
    ]
    Image.fromarray((np.stack(channels, -1) * 255).round().astype(np.uint8)).save(path)


def stripes(path: Path) -> None:
    y, x = np.mgrid[0:48, 0:48]
    band = ((x + y) // 4) % 2 == 0
    pixels = np.where(band[..., None], [230, 30, 40], [20, 40, 220]).astype(np.uint8)
    Image.fromarray(pixels).save(path)


def stylized(info: CheckpointInfo, photos: torch.Tensor) -> torch.Tensor:
    """The checkpoint's stylizations of ``photos`` with fixed noise."""
    network = info.build_network()
    noise = seeded_noise(info.generator_config, photos.shape[0], SIDE, SIDE, 5)
    with torch.no_grad():
        return run_network(network, photos, noise)


def test_a_stylizer_learns_in_a_few_dozen_steps(
    onnx_descriptor_source: str, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(4):
        smooth_photo(photos / f"p{seed}.png", seed)
    style = tmp_path / "stripes.png"
    stripes(style)
    run = tmp_path / "run"
    args = [
        "--style", str(style), "--content-dir", str(photos), "--out", str(run),
        "--descriptor", onnx_descriptor_source, "--image-size", str(SIDE), "--batch-size", "2",
        "--num-scales", "3", "--channels", "8", "--style-layers", "relu1_1,relu2_1",
        "--content-layers", "relu2_1", "--style-size", "48", "--lr", "0.02", "--seed", "0",
        "--val-fraction", "0", "--sample-every", "0", "--logger", "none", "--num-workers", "0",
        "--precision", "fp32",
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train_cli.main([*args, "--max-steps", "1"]) == 0
        untrained = read_checkpoint(run)
        assert train_cli.main([*args, "--max-steps", str(STEPS), "--resume", "auto"]) == 0
    trained = read_checkpoint(run)
    assert trained.global_step == STEPS
    settings = loss_settings(trained.config, stylize=True)
    example = load_image(style, 48, min_side=settings.min_side())
    objective = Objective.load(onnx_descriptor_source, settings, [example])
    dataset = PhotoDataset(sorted(str(p) for p in photos.iterdir()), val_transform(SIDE))
    content = torch.stack([dataset[i] for i in range(len(dataset))])
    targets = objective.content_targets(content)
    layers = objective.loss.layers

    def scores(info: CheckpointInfo) -> tuple[float, float]:
        images = stylized(info, content)
        with torch.no_grad():
            loss = objective.loss(objective.descriptor(images, layers), targets, images)
        distance = StyleDistance(objective.descriptor, example, objective.loss.style_layers)
        distance.update(images)
        return loss.total.item(), float(distance.compute()["style_distance"])

    loss_before, style_before = scores(untrained)
    loss_after, style_after = scores(trained)
    assert loss_after < 0.6 * loss_before, (loss_before, loss_after)
    assert style_after < 0.75 * style_before, (style_before, style_after)
