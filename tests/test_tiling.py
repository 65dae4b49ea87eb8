"""Images made layer by layer in bands of rows (``bands.py``, bounded memory) equal the
whole-image forward of both architectures."""

from __future__ import annotations

import pytest
import torch

from texture_nets.inference.bands import band_options
from texture_nets.inference.stylize import stylize_tensor
from texture_nets.nets.johnson import JohnsonConfig
from texture_nets.nets.networks import (
    Network,
    NetworkConfig,
    build_network,
    render,
    render_steps,
    run_network,
    sample_textures,
    seeded_noise,
)
from texture_nets.nets.ulyanov import Generator, GeneratorConfig, make_inputs

CASES = [
    (GeneratorConfig(num_scales=4, channels=4, padding="circular"), (96, 128), False),
    (GeneratorConfig(num_scales=6, channels=4, padding="circular"), (96, 128), False),
    (GeneratorConfig(num_scales=6, channels=4, padding="circular"), (90, 133), False),
    (GeneratorConfig(num_scales=5, channels=3, coarse_channels=7), (90, 133), False),
    (GeneratorConfig(num_scales=6, channels=4, padding="reflect"), (90, 133), False),
    (GeneratorConfig(num_scales=4, channels=4, padding="reflect"), (101, 77), False),
    (GeneratorConfig(num_scales=4, channels=4, padding="zero"), (70, 99), False),
    (GeneratorConfig(num_scales=3, channels=4, norm="batch", padding="reflect"), (83, 60), False),
    (
        GeneratorConfig(num_scales=4, channels=4, padding="reflect", content_channels=3),
        (83, 120),
        True,
    ),
    (JohnsonConfig(channels=4, residual_blocks=2), (90, 131), True),
    (JohnsonConfig(channels=4, residual_blocks=1, norm="batch"), (41, 30), True),
    (JohnsonConfig(channels=2, residual_blocks=1, downsamples=3), (75, 53), True),
]


def random_network(config: NetworkConfig, seed: int = 0) -> Network:
    """Weights large enough that every layer matters (default init is nearly linear)."""
    network = build_network(config).eval()
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=rng) * 0.5)
    return network


def inputs_for(config: NetworkConfig, size: tuple[int, int], with_content: bool):  # type: ignore[no-untyped-def]
    height, width = size
    content = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(1))
    return (content if with_content else None), seeded_noise(config, 2, height, width, seed=3)


@pytest.mark.parametrize(("config", "size", "with_content"), CASES)
def test_tiled_equals_whole_image(
    config: NetworkConfig, size: tuple[int, int], with_content: bool
) -> None:
    network = random_network(config)
    content, noise = inputs_for(config, size, with_content)
    with torch.no_grad():
        whole = run_network(network, content, noise)
    tile = 16
    calls = []
    # max_memory 0: every stored map of the banded generator goes through a temporary file
    tiled = render(network, content, noise, tile, max_memory=0, on_step=lambda: calls.append(1))
    assert tiled.shape == whole.shape
    assert whole.std() > 0.05  # a flat image would hide mistakes
    torch.testing.assert_close(tiled, whole, atol=1e-4, rtol=0)
    assert len(calls) == render_steps(network, 2, *size, tile)
    assert len(calls) > render_steps(network, 2, *size, None)  # more bands than untiled


@pytest.mark.parametrize("size", [(48, 64), (45, 61)])
def test_texture_samples_equal_the_forward_at_every_size_and_tile(size: tuple[int, int]) -> None:
    generator = random_network(GeneratorConfig(num_scales=3, channels=4, padding="circular"))
    assert isinstance(generator, Generator)
    noise = seeded_noise(generator.config, 1, *size, seed=5)
    assert noise is not None
    with torch.no_grad():
        whole = generator(make_inputs(generator.config, noise))
    for tile in (None, 7):
        sample = sample_textures(generator, *size, [5], tile=tile)
        assert sample.shape == (1, 3, *size)
        torch.testing.assert_close(sample, whole, atol=1e-4, rtol=0)


def test_tiled_stylization_equals_untiled() -> None:
    network = random_network(JohnsonConfig(channels=4, residual_blocks=1))
    photo = torch.rand(1, 3, 50, 70)
    torch.testing.assert_close(
        stylize_tensor(network, photo, seed=0, tile=24),
        stylize_tensor(network, photo, seed=0),
        atol=1e-4,
        rtol=0,
    )


def test_tile_option() -> None:
    assert band_options("off", 2e9) == (None, float("inf"))
    assert band_options("auto", 2e9) == (None, 2e9)
    assert band_options(100, 2e9) == (100, 2e9)


def test_photo_skip_adds_the_photo_in_bands_as_in_the_whole_image() -> None:
    """``photo_skip``: the banded pass adds each band's own rows of the photo (a shifted or
    missing skip would show against the whole-image forward, which adds it in one piece)."""
    network = random_network(JohnsonConfig(channels=4, residual_blocks=1, photo_skip=True))
    with torch.no_grad():  # a small change, so that the photo shows through the sigmoid
        network.to_rgb.weight.mul_(0.02)
        network.to_rgb.bias.zero_()
    photo = torch.rand(2, 3, 90, 131, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = run_network(network, photo, None)
    tiled = render(network, photo, None, 16, max_memory=0)
    torch.testing.assert_close(tiled, whole, atol=1e-4, rtol=0)
    change = (whole - photo).abs()
    assert 0.01 < change.mean() < 0.2  # the network's change is there, and the photo too


def test_an_untrained_photo_skip_network_returns_the_photo() -> None:
    photo = torch.rand(1, 3, 40, 52)
    with torch.no_grad():
        out = build_network(JohnsonConfig(channels=4, residual_blocks=1, photo_skip=True))(photo)
        plain = build_network(JohnsonConfig(channels=4, residual_blocks=1))(photo)
    assert (out - photo).abs().max() < 1.5e-3  # the clamp of the photo to [1e-3, 1 - 1e-3]
    assert (plain - photo).abs().mean() > 0.05
