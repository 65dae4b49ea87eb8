"""The generator architectures behind one interface: build from a config, run on a batch.

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
    min_image_size,
    seeded_generator,
)
from texture_nets.johnson import MIN_SIDE, JohnsonConfig, JohnsonNet
from texture_nets.tiling import plan_tiling, tiled_forward

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
    if isinstance(network.config, JohnsonConfig):  # (an ONNX-run network has the same config)
        if content is None:
            raise ValueError("the johnson network needs a content image")
        return network(content)
    if noise is None:
        raise ValueError("the ulyanov generator needs a noise pyramid")
    return network(make_inputs(network.config, noise, content))


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
    if isinstance(network, JohnsonNet):
        if content is None:
            raise ValueError("the johnson network needs a content image")
        height, width = content.shape[-2:]
        plan = plan_tiling(network.config, height, width, tile)

        def run_johnson(tile_inputs: list[Tensor]) -> Tensor:
            return network(tile_inputs[0])

        return tiled_forward(
            network, run_johnson, [content], [1], (height, width), tile, plan.halo, plan.align,
            on_tile=on_tile,
        )  # fmt: skip
    if noise is None:
        raise ValueError("the ulyanov generator needs a noise pyramid")
    config = network.config
    inputs = make_inputs(config, noise, content)
    height, width = inputs[0].shape[-2:]
    plan = plan_tiling(config, height, width, tile)
    levels = plan.levels
    with torch.no_grad():  # the coarse levels, once for the whole image
        coarse = network.input_blocks[-1](inputs[-1])
        coarse = network.refine(coarse, inputs, config.num_scales - 2, last=levels)

    def run_fine(tile_inputs: list[Tensor]) -> Tensor:
        return network.to_image(network.refine(tile_inputs[levels], tile_inputs, levels - 1))

    return tiled_forward(
        network,
        run_fine,
        [*inputs[:levels], coarse],
        [2**k for k in range(levels + 1)],
        (height, width),
        tile,
        plan.halo,
        plan.align,
        wrap=config.padding == "circular",
        on_tile=on_tile,
    )


def tiled_steps(network: Network, height: int, width: int, tile: int) -> int:
    """Tile forwards ``run_network_tiled`` makes for one image (for progress bars)."""
    plan = plan_tiling(network.config, height, width, tile)
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
        make_noise(1, noise_height, noise_width, config, seeded_generator(seed), device)
        for seed in seeds
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
