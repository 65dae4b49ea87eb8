"""Sliced Wasserstein distance between feature distributions (Heitz et al. 2021): the core of
the ``swd`` texture loss (``TextureLoss``) and of the evaluation metric (``evaluation.metrics``),
so both compare sorted projections the same way."""

from __future__ import annotations

import zlib

import torch
from torch import Tensor

_EPS = 1e-12


def random_projections(channels: int, num_projections: int, seed: int) -> Tensor:
    """``num_projections`` random unit directions in R^channels, as columns of a (C, P) tensor.

    Drawn from an isotropic Gaussian and normalised, with a private CPU generator seeded by
    ``seed``: the same arguments give the same directions on every machine and rank.
    """
    if channels < 1 or num_projections < 1:
        raise ValueError("channels and num_projections must be positive")
    rng = torch.Generator().manual_seed(seed)
    directions = torch.randn(channels, num_projections, generator=rng)
    return directions / directions.norm(dim=0, keepdim=True)


def resample_sorted(values: Tensor, length: int) -> Tensor:
    """Resample sorted values (..., M) to (..., length) by linear interpolation of quantiles.

    Value ``j`` of ``M`` sits at quantile level ``(j + 0.5) / M``; the output holds the
    piecewise-linear interpolant at levels ``(k + 0.5) / length`` (clamped to the end values
    outside ``[0.5 / M, 1 - 0.5 / M]``), i.e. ``numpy.interp`` on those levels.
    """
    size = values.shape[-1]
    if size == length:
        return values
    # Positions in float64 on the CPU (exact enough for any size; MPS has no float64).
    levels = torch.arange(length, dtype=torch.float64) + 0.5
    position = (levels * (size / length) - 0.5).clamp(0, size - 1)
    low = position.floor().long()
    high = (low + 1).clamp(max=size - 1)
    fraction = (position - low.to(torch.float64)).to(values.device, values.dtype)
    low, high = low.to(values.device), high.to(values.device)
    return values[..., low] * (1 - fraction) + values[..., high] * fraction


def sorted_projections(features: Tensor, projections: Tensor) -> Tensor:
    """(..., N, C) feature vectors -> (..., P, N) their projections, sorted along N."""
    projected = features.float() @ projections.float()  # (..., N, P)
    return projected.transpose(-1, -2).sort(dim=-1).values


def sliced_wasserstein_sorted(sorted_a: Tensor, sorted_b: Tensor) -> Tensor:
    """Normalised SWD from sorted projections (..., P, N_a) and example (P, N_b)."""
    length = min(sorted_a.shape[-1], sorted_b.shape[-1])
    a = resample_sorted(sorted_a, length)
    b = resample_sorted(sorted_b, length)
    mean_squared = (a - b).pow(2).mean(dim=(-2, -1))
    example_variance = sorted_b.var(dim=-1, unbiased=False).mean()
    return mean_squared / example_variance.clamp_min(_EPS)


def swd_layer_loss(
    features: Tensor, example: Tensor, directions: Tensor, rng: torch.Generator | None = None
) -> Tensor:
    """Per-sample sliced Wasserstein loss at one layer (Heitz et al. 2021).

    ``features`` (B, C, H, W) are compared with the example's feature vectors ``example``
    (N_e, C) along the unit ``directions`` (C, P): every projection's sorted values (its
    quantiles) against the example's, normalised by the example's projected variance
    (``sliced_wasserstein_sorted``, the metric's formula). An example with more positions
    than a sample is subsampled to as many (positions drawn with ``rng``), which keeps the
    per-step sorting at the sample's size.
    """
    samples = features.float().flatten(2).transpose(1, 2)  # (B, N, C)
    count = samples.shape[1]
    if example.shape[0] > count:
        chosen = torch.randperm(example.shape[0], generator=rng)[:count]
        example = example[chosen.to(example.device)]
    directions = directions.to(samples.device)
    return sliced_wasserstein_sorted(
        sorted_projections(samples, directions), sorted_projections(example, directions)
    )


def draw_seed(seed: int, draw: int, layer: str) -> int:
    """The seed of one draw's random directions at one layer (32 bits: torch's CPU generator
    keeps only the low 32 bits of a seed)."""
    return zlib.crc32(f"{seed}/{draw}/{layer}".encode())
