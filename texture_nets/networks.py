"""The generator architectures behind one interface: build from a config, run on a batch.

``ulyanov``: the multiscale generator of ``generator.py`` (noise, plus the content image at
every scale when stylizing). ``johnson``: the residual transformer of ``johnson.py`` (content
only, no noise). Checkpoints store the architecture's name and its config dict; a checkpoint
without a name is ``ulyanov`` (the only architecture of older checkpoints).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from texture_nets.generator import (
    Generator,
    GeneratorConfig,
    make_inputs,
    make_noise,
    min_image_size,
)
from texture_nets.johnson import MIN_SIDE, JohnsonConfig, JohnsonNet

ARCHITECTURES = ("ulyanov", "johnson")
DEFAULT_ARCHITECTURE = "ulyanov"

NetworkConfig = GeneratorConfig | JohnsonConfig
Network = Generator | JohnsonNet


def config_from_dict(architecture: str, data: Mapping[str, Any]) -> NetworkConfig:
    """Rebuild an architecture's config (``TypeError``/``ValueError`` on bad settings)."""
    if architecture == "ulyanov":
        return GeneratorConfig(**data)
    if architecture == "johnson":
        return JohnsonConfig(**data)
    raise ValueError(f"unknown generator architecture {architecture!r}; one of {ARCHITECTURES}")


def architecture_of(config: NetworkConfig) -> str:
    return "johnson" if isinstance(config, JohnsonConfig) else "ulyanov"


def build_network(config: NetworkConfig) -> Network:
    if isinstance(config, JohnsonConfig):
        return JohnsonNet(config)
    return Generator(config)


def needs_noise(config: NetworkConfig) -> bool:
    """Whether the network takes a noise pyramid (all Ulyanov generators; depth may be 0)."""
    return isinstance(config, GeneratorConfig)


def min_side(config: NetworkConfig) -> int:
    """The smallest image side the network can process."""
    if isinstance(config, JohnsonConfig):
        return MIN_SIDE
    return min_image_size(config.num_scales)


def seeded_noise(
    config: NetworkConfig,
    batch: int,
    height: int,
    width: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> list[Tensor] | None:
    """The noise pyramid for ``batch`` images drawn from one seed (None if not needed)."""
    if not isinstance(config, GeneratorConfig):
        return None
    rng = torch.Generator().manual_seed(seed)
    return make_noise(batch, height, width, config, rng, device)


def run_network(network: Network, content: Tensor | None, noise: list[Tensor] | None) -> Tensor:
    """One forward pass: Ulyanov takes noise (+ content), Johnson takes the content only."""
    if isinstance(network, JohnsonNet):
        if content is None:
            raise ValueError("the johnson network needs a content image")
        return network(content)
    if noise is None:
        raise ValueError("the ulyanov generator needs a noise pyramid")
    return network(make_inputs(network.config, noise, content))
