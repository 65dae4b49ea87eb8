"""The structure score: feature autocorrelations see arrangement that Gram matrices discard."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from texture_nets.evaluation.metrics import StyleDistance
from texture_nets.evaluation.structure import (
    StructureDistance,
    autocorrelation,
    autocorrelation_distance,
)
from texture_nets.objective.descriptor import VGGDescriptor


def brute_autocorrelation(features: Tensor, dy: int, dx: int) -> Tensor:
    """Per channel: the mean product at shift (dy, dx) over the overlap, batch-averaged."""
    centred = features - features.mean(dim=(2, 3), keepdim=True)
    height, width = features.shape[-2:]
    a = centred[..., max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    b = centred[..., max(0, dy) : height - max(0, -dy), max(0, dx) : width - max(0, -dx)]
    return (a * b).mean(dim=(2, 3)).mean(dim=0)


def test_autocorrelation_matches_the_direct_sum(rng: torch.Generator) -> None:
    features = torch.randn(2, 3, 10, 12, generator=rng)
    result = autocorrelation(features, 3)
    assert result.shape == (3, 7, 7)
    zero = brute_autocorrelation(features, 0, 0)
    for dy, dx in [(0, 0), (1, 2), (-2, 3), (3, -1), (-3, -3)]:
        expected = brute_autocorrelation(features, dy, dx) / zero
        torch.testing.assert_close(result[:, 3 + dy, 3 + dx], expected, atol=1e-5, rtol=1e-4)


def stripes(size: int, period: int, vertical: bool) -> Tensor:
    """RGB stripes in [0, 1], (1, 3, size, size)."""
    wave = 0.5 + 0.5 * torch.sin(2 * torch.pi * torch.arange(size) / period)
    grid = wave[None, :].expand(size, size) if vertical else wave[:, None].expand(size, size)
    return grid[None, None].expand(1, 3, size, size).clone()


def test_autocorrelation_sees_orientation_that_the_gram_of_pixels_does_not() -> None:
    vertical, horizontal = stripes(48, 8, True), stripes(48, 8, False)
    assert torch.allclose(vertical.flatten().sort().values, horizontal.flatten().sort().values)
    same = autocorrelation_distance(autocorrelation(vertical, 8), autocorrelation(vertical, 8))
    rotated = autocorrelation_distance(autocorrelation(vertical, 8), autocorrelation(horizontal, 8))
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    assert rotated.item() > 0.5


def test_autocorrelation_is_translation_invariant(rng: torch.Generator) -> None:
    periodic = stripes(80, 10, True) * torch.rand(1, 3, 1, 1, generator=rng)
    a = autocorrelation(periodic[..., :48, :48], 6)
    b = autocorrelation(periodic[..., 13:61, 27:75], 6)
    assert autocorrelation_distance(a, b).item() < 1e-3


def bricks(size: int = 96) -> Tensor:
    """A regular pattern with long-range order: a brick bond (offset every other row)."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    row = y // 12
    mortar = (y % 12 < 2) | ((x + (row % 2) * 12) % 24 < 2)
    image = torch.where(mortar, 0.85, 0.35).float()
    return torch.stack([image, image * 0.7, image * 0.5])[None]


def shuffled_tiles(images: Tensor, tiles: int, seed: int = 0) -> Tensor:
    """The same pixels with the order of ``tiles`` x ``tiles`` blocks permuted."""
    height, width = images.shape[-2] // tiles, images.shape[-1] // tiles
    blocks = [
        images[..., r * height : (r + 1) * height, c * width : (c + 1) * width]
        for r in range(tiles)
        for c in range(tiles)
    ]
    order = torch.randperm(len(blocks), generator=torch.Generator().manual_seed(seed))
    rows = [
        torch.cat([blocks[int(i)] for i in order[r * tiles : (r + 1) * tiles]], dim=-1)
        for r in range(tiles)
    ]
    return torch.cat(rows, dim=-2)


def test_structure_distance_rises_when_order_is_lost_more_than_the_gram(
    descriptor: VGGDescriptor,
) -> None:
    example = bricks(160)
    crops = torch.cat([example[..., 7:103, 5:101], example[..., 40:136, 50:146]])
    shuffled = shuffled_tiles(crops, 3, seed=1)  # 32 px tiles: off the 24 px period
    layers = ["relu2_1", "relu3_1"]

    def scores(images: Tensor) -> tuple[float, float]:
        structure = StructureDistance(descriptor, example, layers, max_shift=24)
        gram = StyleDistance(descriptor, example, layers)
        structure.update(images)
        gram.update(images)
        return float(structure.compute()["structure_distance"]), float(
            gram.compute()["style_distance"]
        )

    (real_structure, real_gram), (lost_structure, lost_gram) = scores(crops), scores(shuffled)
    assert lost_structure > 2 * real_structure
    assert lost_structure / real_structure > lost_gram / real_gram


def test_structure_distance_does_not_depend_on_the_batching(
    descriptor: VGGDescriptor, rng: torch.Generator
) -> None:
    example = torch.rand(1, 3, 64, 64, generator=rng)
    images = torch.rand(3, 3, 48, 48, generator=rng)
    whole = StructureDistance(descriptor, example, ["relu2_1"], max_shift=8)
    parts = StructureDistance(descriptor, example, ["relu2_1"], max_shift=8)
    whole.update(images)
    parts.update(images[:1])
    parts.update(images[1:])
    torch.testing.assert_close(whole.compute(), parts.compute())


def test_structure_distance_refuses_images_too_small_for_its_shifts(
    descriptor: VGGDescriptor,
) -> None:
    metric = StructureDistance(descriptor, torch.rand(1, 3, 96, 96), ["relu3_1"], max_shift=64)
    with pytest.raises(ValueError, match="too small"):
        metric.update(torch.rand(1, 3, 32, 32))
