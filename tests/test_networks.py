"""The facts each network class states about itself (texture_nets.nets.networks and the classes)."""

from __future__ import annotations

import pytest
import torch

from texture_nets.nets.johnson import JohnsonConfig, JohnsonNet
from texture_nets.nets.networks import (
    ARCHITECTURES,
    NetworkConfig,
    build_network,
    config_from_dict,
    min_side,
    run_network,
    seeded_noise,
    texture_generator,
)
from texture_nets.nets.ulyanov import Generator, GeneratorConfig

CONFIGS: list[NetworkConfig] = [
    GeneratorConfig(num_scales=3, channels=2),
    GeneratorConfig(num_scales=3, channels=2, noise_depth=0, content_channels=3),
    JohnsonConfig(channels=2, residual_blocks=1),
    JohnsonConfig(channels=2, residual_blocks=1, downsamples=3),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_min_side_is_the_smallest_side_that_runs(config: NetworkConfig) -> None:
    network = build_network(config).eval()
    assert network.min_side == min_side(config) == config.min_side

    def run(side: int) -> torch.Tensor:
        needs_content = config.takes_photo
        content = torch.rand(1, 3, side, side) if needs_content else None
        noise = seeded_noise(config, 1, side, side, seed=0)
        with torch.no_grad():
            return run_network(network, content, noise)

    assert run(config.min_side).shape[-2:] == (config.min_side, config.min_side)
    with pytest.raises((ValueError, RuntimeError)):
        run(config.min_side - 1)


@pytest.mark.parametrize("config", CONFIGS)
def test_noise_and_stochastic(config: NetworkConfig) -> None:
    network = build_network(config)
    noise = seeded_noise(config, 1, 16, 16, seed=0)
    assert (noise is not None) == config.takes_noise == network.takes_noise
    assert network.stochastic == (isinstance(network, Generator) and config.noise_depth > 0)


def test_architecture_names_round_trip() -> None:
    assert ARCHITECTURES == ("ulyanov", "johnson")
    for config in CONFIGS:
        assert config_from_dict(config.architecture, config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown generator architecture"):
        config_from_dict("vgg", {})


def test_texture_generator_narrows_to_the_multiscale_generator() -> None:
    generator = Generator(GeneratorConfig(num_scales=3, channels=2))
    assert texture_generator(generator) is generator
    with pytest.raises(TypeError, match="JohnsonNet"):
        texture_generator(JohnsonNet(JohnsonConfig(channels=2, residual_blocks=1)))
