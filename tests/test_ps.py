"""Portilla-Simoncelli synthesis (``texture_nets.baselines.ps``), on tiny images.

plenoptic is in the ``dev`` extra, so these run in CI; a missing plenoptic is checked by
hiding the module.
"""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from texture_nets.baselines import ps
from texture_nets.errors import UserError


def smooth_texture(side: int, seed: int = 0) -> torch.Tensor:
    """Blurred coloured noise with correlated channels: structure for PS to measure."""
    rng = torch.Generator().manual_seed(seed)
    grey = torch.rand(1, 1, side, side, generator=rng)
    image = torch.cat([grey, 0.5 * grey + 0.5 * torch.rand(1, 1, side, side, generator=rng),
                       1 - grey], dim=1)  # fmt: skip
    image = F.avg_pool2d(F.pad(image, (2, 2, 2, 2), mode="circular"), 5, 1)
    return (image - image.min()) / (image.max() - image.min())


def test_synthesis_has_the_asked_size_and_moves_towards_the_example_statistics() -> None:
    example = smooth_texture(48)
    result = ps.synthesize(example, (32, 40), steps=2, seed=0)
    assert result.image.shape == (1, 3, 32, 40)
    assert float(result.image.min()) >= 0 and float(result.image.max()) <= 1
    target = ps.ps_statistics(example, example, result.n_scales)

    def distance(image: torch.Tensor) -> float:
        stats = ps.ps_statistics(image, example, result.n_scales)
        return float(torch.nan_to_num(stats - target).norm())

    assert result.initial.shape == (1, 3, 32, 40)
    assert distance(result.image) < 0.5 * distance(result.initial)
    assert result.losses[-1] < result.losses[0]


def test_scales_follow_the_size() -> None:
    assert ps.n_scales_for(256, 300) == 4  # plenoptic's default where it fits
    assert ps.n_scales_for(32, 256) == 2  # 32 / 2**2 = 8 >= the 7-px correlation window
    with pytest.raises(UserError, match="at least 14 px"):
        ps.n_scales_for(10)


def test_colour_decorrelation_round_trips() -> None:
    example = smooth_texture(24, seed=3)
    colour = ps._Decorrelate(example)
    components = colour.forward(example)
    assert components.min() >= -1e-6 and components.max() <= 1 + 1e-6
    flat = components.reshape(3, -1).double()
    covariance = torch.cov(flat)
    off_diagonal = covariance - torch.diag(torch.diag(covariance))
    assert off_diagonal.abs().max() < 1e-6
    assert torch.allclose(colour.inverse(components), example, atol=1e-5)


def test_missing_plenoptic_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plenoptic", None)  # import raises ImportError
    with pytest.raises(UserError, match=r"texture-nets\[ps\]"):
        ps.synthesize(smooth_texture(32), (32, 32), steps=1)
