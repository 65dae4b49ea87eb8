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

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from texture_nets.inference.bands import Storage, band_count, generate_in_bands, transform_in_bands
from texture_nets.nets.johnson import JohnsonConfig, JohnsonNet
from texture_nets.nets.ulyanov import (
    Generator,
    GeneratorConfig,
    make_noise,
    seeded_rng,
)

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


def split_inputs(
    config: NetworkConfig, inputs: list[Tensor] | Tensor
) -> tuple[Tensor | None, list[Tensor] | None]:
    """What a network of ``config`` was fed (its input pyramid, or the photo) -> the
    ``(content, noise)`` that ``run_network`` and ``render`` take."""
    if isinstance(config, GeneratorConfig):
        assert isinstance(inputs, list)
        channels = config.content_channels
        content = inputs[0][:, :channels] if channels else None
        return content, [scale[:, channels:] for scale in inputs]
    assert isinstance(inputs, Tensor)
    return inputs, None


def render(
    network: Network,
    content: Tensor | None,
    noise: list[Tensor] | None,
    tile: int | None = None,
    max_memory: float = math.inf,
    on_step: Callable[[], None] | None = None,
) -> Tensor:
    """A forward pass that makes images (no gradients); equal to ``run_network`` up to float
    rounding.

    Both architectures run layer by layer in bands of rows (``bands.py``): faster than the
    plain forward on a CPU (docs/architecture.md), exact at every size, and their stored
    maps go to temporary files beyond ``max_memory`` bytes (``tile``: bands of at most this
    many rows). ``on_step`` is called after every band. A network run by another runtime
    (ONNX) makes one plain pass.
    """
    if isinstance(network, Generator):
        inputs = network.config.inputs(content, noise)
        storage = _storage(inputs[0], max_memory)
        return generate_in_bands(network, inputs, storage, tile, on_step)
    if isinstance(network, JohnsonNet) and content is not None:
        return transform_in_bands(network, content, _storage(content, max_memory), tile, on_step)
    with torch.no_grad():
        return run_network(network, content, noise)


def _storage(first_input: Tensor, max_memory: float) -> Storage:
    batch, _, height, width = first_input.shape
    output = batch * 3 * height * width * 4
    return Storage.for_peak(max_memory, output, first_input.device)


def render_steps(network: Network, batch: int, height: int, width: int, tile: int | None) -> int:
    """How many times ``render`` calls ``on_step`` for this size (for progress bars); the
    bands' size depends on the device the network is on."""
    if isinstance(network, Generator | JohnsonNet):
        device = next(network.parameters()).device
        return band_count(network, batch, height, width, tile, device)
    return 0


@torch.no_grad()
def sample_textures(
    generator: Generator,
    height: int,
    width: int,
    seeds: list[int],
    device: torch.device | str = "cpu",
    tile: int | None = None,
    max_memory: float = math.inf,
    on_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """One sample per seed, (N, 3, H, W) in [0, 1]; a seed always gives the same sample, at
    every ``tile`` and memory budget (``render``)."""
    config = generator.config
    noise_per_seed = [
        make_noise(1, height, width, config, seeded_rng(seed), device) for seed in seeds
    ]
    noise = [torch.cat(scale) for scale in zip(*noise_per_seed, strict=True)]
    return render(generator, None, noise, tile, max_memory, on_step)
