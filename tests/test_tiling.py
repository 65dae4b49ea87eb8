"""Bounded-memory generation equals the whole-image forward: Ulyanov's generator in bands of
rows (``bands.py``), Johnson's network in tiles (``tiling.py``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from texture_nets.generator import Generator, GeneratorConfig
from texture_nets.johnson import JohnsonConfig
from texture_nets.networks import (
    Network,
    NetworkConfig,
    build_network,
    make_inputs,
    render,
    render_steps,
    run_network,
    sample_textures,
    seeded_noise,
)
from texture_nets.stylize import stylize_tensor
from texture_nets.tiling import plan_tiling, spans, tile_size, tiled_forward

CASES = [
    (GeneratorConfig(num_scales=4, channels=4, padding="circular"), (96, 128), False),
    (GeneratorConfig(num_scales=6, channels=4, padding="circular"), (96, 128), False),
    (GeneratorConfig(num_scales=6, channels=4, padding="circular"), (90, 133), False),
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
    if isinstance(config, GeneratorConfig):  # really in several bands per layer
        assert len(calls) > 2 * render_steps(network, 2, *size, None)
    else:
        assert plan_tiling(network, *size, tile).tiles >= 4  # really tiled


def test_a_halo_smaller_than_the_receptive_field_shows_seams() -> None:
    config = GeneratorConfig(num_scales=3, channels=4, padding="reflect")
    network = random_network(config)
    noise = seeded_noise(config, 1, 64, 64, seed=0)
    assert noise is not None
    inputs = make_inputs(config, noise)
    with torch.no_grad():
        whole = network(inputs)
    tiled = tiled_forward(network, network, inputs, [1, 2, 4], (64, 64), tile=16, halo=4, align=4)
    assert (tiled - whole).abs().max() > 1e-2


def test_network_is_restored_after_tiling_even_on_error() -> None:
    network = random_network(GeneratorConfig(num_scales=3, channels=4))
    norms = [m for m in network.modules() if isinstance(m, nn.InstanceNorm2d)]

    def failing(_inputs: list[torch.Tensor]) -> torch.Tensor:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tiled_forward(network, failing, [torch.rand(1, 3, 32, 32)], [1], (32, 32), 16, 8, 4)
    assert [m for m in network.modules() if isinstance(m, nn.InstanceNorm2d)] == norms


@pytest.mark.parametrize(("length", "wrap"), [(100, False), (128, True), (7, False)])
def test_spans_cover_every_pixel_once_with_aligned_reads(length: int, wrap: bool) -> None:
    result = spans(length, core=24, halo=10, align=8, wrap=wrap)
    covered = [i for span in result for i in range(span.core_start, span.core_end)]
    assert covered == list(range(length))
    for span in result:
        assert span.core_start % 8 == 0 and span.read_start % 8 == 0
        if wrap:  # a full halo on both sides, reaching past the edges
            assert span.core_start - span.read_start == 16 == span.read_end - span.core_end
        else:  # a full halo, clipped at the image's edges
            assert span.read_start == max(0, span.core_start - 16)
            assert span.read_end == min(length, span.core_end + 16)


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
    assert tile_size("off", 8000, 8000) is None
    assert tile_size("auto", 512, 512) is None
    assert tile_size("auto", 4096, 4096) == 256
    assert tile_size(100, 64, 64) == 100
