"""The Spatial GAN baseline (``texture_nets.baselines.gan``) on tiny nets and crops."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from texture_nets.baselines import gan

TINY = gan.GANConfig(noise_channels=4, layers=2, width=4, crop=16, batch_size=2)


def example(side: int = 24) -> torch.Tensor:
    return torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))


def test_trains_the_asked_steps_and_changes_the_generator() -> None:
    torch.manual_seed(0)
    initial = gan.SpatialGenerator(TINY).state_dict()  # train() seeds the same initial weights
    result = gan.train(example(), minutes=10, config=TINY, seed=0, max_steps=3)
    assert result.steps == 3
    assert len(result.losses["generator"]) == len(result.losses["discriminator"]) == 3
    assert all(math.isfinite(v) for v in itertools.chain(*result.losses.values()))
    trained = result.generator.state_dict()
    assert any(not torch.equal(initial[k], trained[k]) for k in initial if "weight" in k)
    assert not result.generator.training


def test_generator_makes_any_size_from_noise_and_seeds_differ() -> None:
    generator = gan.train(example(), minutes=10, config=TINY, seed=1, max_steps=2).generator
    image = gan.sample(generator, (20, 29), seed=0)  # not multiples of 2 ** layers
    assert image.shape == (1, 3, 20, 29)
    assert float(image.min()) >= 0 and float(image.max()) <= 1
    assert gan.sample(generator, (40, 40), seed=0).shape == (1, 3, 40, 40)
    assert torch.equal(image, gan.sample(generator, (20, 29), seed=0))
    other = gan.sample(generator, (20, 29), seed=1)
    assert (image - other).abs().mean() > 1e-4


def test_the_budget_stops_training(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = itertools.count()  # every reading of the clock is one second later
    monkeypatch.setattr(gan.time, "perf_counter", lambda: float(next(clock)))
    result = gan.train(example(), minutes=5 / 60, config=TINY, seed=0)
    assert result.steps == 5  # checked between steps: read at 1, 2, 3, 4 s, stopped at 5 s


def test_the_crop_shrinks_to_a_small_example() -> None:
    config = gan.GANConfig(noise_channels=4, layers=2, width=4, crop=64, batch_size=2)
    result = gan.train(example(20), minutes=10, config=config, max_steps=1)  # 16 px crops
    assert result.steps == 1
    with pytest.raises(ValueError, match="at least 4 px"):
        gan.train(example(3), minutes=10, config=config, max_steps=1)
