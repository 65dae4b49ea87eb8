"""The network architectures behind one interface: build from a config, run on a batch.

Each network class states its own facts (``takes_noise``, ``stochastic``, ``min_side``,
``run``, and what tiled generation needs); this module only maps architecture names to
classes and offers the functions every caller uses.

``ulyanov``: the multiscale generator of ``generator.py`` (noise, plus the content image at
every scale when stylizing). ``johnson``: the residual transformer of ``johnson.py`` (content
only, no noise). Checkpoints store the architecture's name and its config dict; a checkpoint
without a name is ``ulyanov`` (the only architecture of older checkpoints).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from texture_nets.generator import (
    Generator,
    GeneratorConfig,
    make_inputs,
    make_noise,
    seeded_rng,
)
from texture_nets.johnson import JohnsonConfig, JohnsonNet
from texture_nets.tiling import plan_tiling, tiled_forward

NetworkConfig = GeneratorConfig | JohnsonConfig
Network = Generator | JohnsonNet

CONFIGS: dict[str, type[GeneratorConfig] | type[JohnsonConfig]] = {
    config.architecture: config for config in (GeneratorConfig, JohnsonConfig)
}
ARCHITECTURES = tuple(CONFIGS)
DEFAULT_ARCHITECTURE = GeneratorConfig.architecture


def config_from_dict(architecture: str, data: Mapping[str, Any]) -> NetworkConfig:
    """Rebuild an architecture's config (``TypeError``/``ValueError`` on bad settings)."""
    if architecture not in CONFIGS:
        raise ValueError(f"unknown generator architecture {architecture!r}; one of {ARCHITECTURES}")
    return CONFIGS[architecture](**data)


def build_network(config: NetworkConfig) -> Network:
    return config.build()


def min_side(config: NetworkConfig) -> int:
    """The smallest image side the network can process."""
    return config.min_side


def as_multiscale(network: Network) -> Generator | None:
    """``network`` if it is Ulyanov's multiscale generator (input: a pyramid), else None."""
    return network if isinstance(network, Generator) else None


def texture_generator(network: Network) -> Generator:
    """``network`` as the multiscale generator that texture sampling needs (``TypeError`` for
    an architecture that only transforms photos)."""
    if not isinstance(network, Generator):
        raise TypeError(
            f"texture samples need the multiscale generator, not {type(network).__name__}"
        )
    return network


def seeded_noise(
    config: NetworkConfig,
    batch: int,
    height: int,
    width: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> list[Tensor] | None:
    """The noise pyramid for ``batch`` images drawn from one seed (None if not needed)."""
    return config.noise(batch, height, width, seeded_rng(seed), device)


def run_network(network: Network, content: Tensor | None, noise: list[Tensor] | None) -> Tensor:
    """One forward pass: Ulyanov takes noise (+ content), Johnson takes the content only."""
    # the config knows how its network is fed (an ONNX-run network has the same config)
    return network.config.run(network, content, noise)


def run_network_tiled(
    network: Network,
    content: Tensor | None,
    noise: list[Tensor] | None,
    tile: int,
    on_tile: Callable[[], None] | None = None,
) -> Tensor:
    """``run_network`` tile by tile in bounded memory; equal to it up to float rounding.

    With circular padding the result equals the whole-image pass only for sizes divisible by
    2^(num_scales-1) (the only sizes that tile seamlessly anyway).
    """
    inputs, scales, run = network.tile_parts(content, noise, tile)
    height, width = inputs[0].shape[-2:]
    plan = plan_tiling(network, height, width, tile)
    return tiled_forward(
        network,
        run,
        inputs,
        scales,
        (height, width),
        tile,
        plan.halo,
        plan.align,
        wrap=network.wraps_around,
        on_tile=on_tile,
    )


def tiled_steps(network: Network, height: int, width: int, tile: int) -> int:
    """Tile forwards ``run_network_tiled`` makes for one image (for progress bars)."""
    plan = plan_tiling(network, height, width, tile)
    return plan.passes * plan.tiles


@torch.no_grad()
def sample_textures(
    generator: Generator,
    height: int,
    width: int,
    seeds: list[int],
    device: torch.device | str = "cpu",
    tile: int | None = None,
    on_tile: Callable[[], None] | None = None,
) -> torch.Tensor:
    """One sample per seed, (N, 3, H, W) in [0, 1]; a seed always gives the same sample.

    ``tile``: generate tile by tile with cores of this many pixels (bounded memory, same
    result). With circular padding the tiled image is generated at the next size divisible by
    the coarsest scale and cropped, since only such sizes wrap around exactly.
    """
    config = generator.config
    noise_height, noise_width = (
        tiled_texture_size(generator, height, width) if tile else (height, width)
    )
    noise_per_seed = [
        make_noise(1, noise_height, noise_width, config, seeded_rng(seed), device) for seed in seeds
    ]
    noise = [torch.cat(scale) for scale in zip(*noise_per_seed, strict=True)]
    if tile:
        images = run_network_tiled(generator, None, noise, tile, on_tile)
        return images[..., :height, :width]
    return generator(make_inputs(config, noise))


def tiled_texture_size(generator: Generator, height: int, width: int) -> tuple[int, int]:
    """The size a tiled texture is generated at (then cropped): with circular padding, the
    next multiple of the coarsest scale, the only sizes that wrap around exactly."""
    if generator.config.padding != "circular":
        return height, width
    align = 2 ** (generator.config.num_scales - 1)
    return -(-height // align) * align, -(-width // align) * align
