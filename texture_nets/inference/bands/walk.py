"""The architecture walks of a banded pass: Ulyanov's generator and Johnson et al.'s network
layer by layer, in the order of their ``forward``, on the executor; the entry points
``generate_in_bands``, ``transform_in_bands`` and ``band_count``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import Tensor, nn

from texture_nets.inference.bands.executor import (
    BandRunner,
    CountingRunner,
    Given,
    Joined,
    Moments,
    Output,
    Shaped,
    Sum,
    Upsampled,
    normalised,
)
from texture_nets.inference.bands.storage import Map, Storage
from texture_nets.nets.johnson import (
    JohnsonNet,
    ResidualBlock,
    pad_to_multiple,
    photo_logit,
)
from texture_nets.nets.ulyanov import Generator, JoinBlock, pyramid_sizes

# -- Ulyanov's generator ------------------------------------------------------------------


@torch.no_grad()
def generate_in_bands(
    generator: Generator,
    inputs: list[Tensor],
    storage: Storage,
    max_rows: int | None = None,
    on_band: Callable[[], None] | None = None,
) -> Tensor:
    """``generator(inputs)`` computed layer by layer in bands of at most ``max_rows`` rows;
    equal to it up to float rounding, in the memory of a few bands plus the stored maps that
    fit ``storage`` (the rest go to temporary files)."""
    coarsest = inputs[-1].shape[-2] * inputs[-1].shape[-1]
    if generator.config.norm == "instance" and coarsest < 2:
        raise ValueError("instance norm needs more than 1 spatial element at the coarsest scale")
    device = inputs[0].device
    return _walk(generator, inputs, BandRunner(storage, device, None, max_rows, on_band)).data


def band_count(
    network: Generator | JohnsonNet,
    batch: int,
    height: int,
    width: int,
    max_rows: int | None = None,
    device: torch.device | str = "cpu",
) -> int:
    """How many bands ``generate_in_bands`` / ``transform_in_bands`` run (their ``on_band``
    calls) for an output of this size."""
    runner = CountingRunner(None, max_rows, torch.device(device))
    if isinstance(network, JohnsonNet):
        stride = network.config.stride
        padded = (batch, 3, -(-height // stride) * stride, -(-width // stride) * stride)
        _walk_johnson(network, Shaped(padded), runner)
        return runner.count
    config = network.config
    sizes = pyramid_sizes(height, width, config.num_scales)
    _walk(network, [Shaped((batch, config.input_channels, h, w)) for h, w in sizes], runner)
    return runner.count


@torch.no_grad()
def _walk(generator: Generator, inputs: Sequence[Tensor | Map], runner: BandRunner) -> Output:
    config = generator.config
    padding = config.padding
    slope = config.leaky_slope

    def block(layers: nn.Module, source: Map) -> Map:
        parts = list(layers.children())
        for conv, norm in zip(parts[0::3], parts[1::3], strict=True):
            assert isinstance(conv, nn.Conv2d)
            stored, moments = runner.conv(conv, source, padding)
            source = normalised(stored, norm, moments, slope)
        return source

    def given(level: int) -> Map:
        data = inputs[level]
        return Given(data) if isinstance(data, Tensor) else data

    x = block(generator.input_blocks[-1], given(config.num_scales - 1))
    for level in range(config.num_scales - 2, -1, -1):
        fine = block(generator.input_blocks[level], given(level))
        index = config.num_scales - 2 - level
        join = cast(JoinBlock, generator.joins[index])
        coarse = Upsampled(x, fine.shape[2], fine.shape[3])
        joined = Joined(
            [
                normalised(coarse, join.norm_coarse, _stats(runner, coarse, join.norm_coarse)),
                normalised(fine, join.norm_fine, _stats(runner, fine, join.norm_fine)),
            ]
        )
        x = block(generator.join_blocks[index], joined)
    batch, _, height, width = x.shape
    image = Output((batch, 3, height, width), runner.device)
    runner.conv(generator.to_rgb, x, padding, out=image)
    return image


def _stats(runner: BandRunner, source: Map, norm: nn.Module) -> Moments | None:
    return runner.moments(source) if isinstance(norm, nn.InstanceNorm2d) else None


# -- Johnson et al.'s network -----------------------------------------------------------------


@torch.no_grad()
def transform_in_bands(
    network: JohnsonNet,
    content: Tensor,
    storage: Storage,
    max_rows: int | None = None,
    on_band: Callable[[], None] | None = None,
) -> Tensor:
    """``network(content)`` computed layer by layer in bands (as ``generate_in_bands``)."""
    height, width = content.shape[-2:]
    if min(height, width) < network.min_side:
        raise ValueError(f"input {width}x{height} is too small: at least {network.min_side} px")
    runner = BandRunner(storage, content.device, None, max_rows, on_band)
    padded = pad_to_multiple(content, network.config.stride)
    skip = photo_logit(padded) if network.config.photo_skip else None
    return _walk_johnson(network, Given(padded), runner, skip).data[..., :height, :width]


def _walk_johnson(
    network: JohnsonNet, content: Map, runner: BandRunner, skip: Tensor | None = None
) -> Output:
    """The layers of ``JohnsonNet.transform`` in order; every convolution reflect-pads;
    ``skip``: the padded photo's logit (``photo_skip``; a counting run needs none)."""

    def conv_norm(layers: Sequence[nn.Module], source: Map, slope: float | None) -> Map:
        conv, norm = layers[0], layers[1]
        assert isinstance(conv, nn.Conv2d)
        stored, moments = runner.conv(conv, source, "reflect")
        return normalised(stored, norm, moments, slope)

    x = content
    for block in network.encoder.children():
        x = conv_norm(list(block.children()), x, 0.0)  # conv, norm, ReLU
    for residual in network.residuals.children():
        first, conv, norm = list(cast(ResidualBlock, residual).body.children())
        inner = conv_norm(list(first.children()), x, 0.0)
        x = runner.materialise(Sum(x, conv_norm([conv, norm], inner, None)))
    for stage in network.decoder.children():
        _, *layers = list(stage.children())  # nn.Upsample, conv, norm, ReLU
        _, _, height, width = x.shape
        x = conv_norm(layers, Upsampled(x, 2 * height, 2 * width), 0.0)
    batch, _, height, width = x.shape
    image = Output((batch, 3, height, width), runner.device, skip)
    runner.conv(network.to_rgb, x, "reflect", out=image)
    return image
