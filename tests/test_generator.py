"""Tests for texture_nets.nets.ulyanov (tiny generators, tiny images)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor, nn

from texture_nets.nets.networks import sample_textures
from texture_nets.nets.ulyanov import (
    Generator,
    GeneratorConfig,
    make_inputs,
    make_noise,
    min_image_size,
    pyramid_sizes,
    seeded_rng,
)
from texture_nets.objective.losses import tv_loss


def small(**kwargs: Any) -> GeneratorConfig:
    settings: dict[str, Any] = {"num_scales": 3, "channels": 4, "noise_depth": 2}
    settings.update(kwargs)
    return GeneratorConfig(**settings)


def build(config: GeneratorConfig, seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    return Generator(config)


def ref_pyramid(height: int, width: int, num_scales: int) -> list[tuple[int, int]]:
    """Halve repeatedly, rounding up."""
    sizes = [(height, width)]
    for _ in range(num_scales - 1):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


# --- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), [(37, 53), (64, 64), (33, 100)])
@pytest.mark.parametrize("num_scales", [1, 2, 4])
def test_output_shape_any_size(height: int, width: int, num_scales: int) -> None:
    config = small(num_scales=num_scales)
    generator = build(config).eval()
    noise = make_noise(2, height, width, config, seeded_rng(0))
    with torch.no_grad():
        out = generator(noise)
    assert out.shape == (2, 3, height, width)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize(
    ("height", "width", "num_scales"),
    [(37, 53, 4), (64, 64, 6), (33, 100, 3), (1, 1, 3), (5, 9, 1)],
)
def test_pyramid_sizes(height: int, width: int, num_scales: int) -> None:
    assert pyramid_sizes(height, width, num_scales) == ref_pyramid(height, width, num_scales)


def test_pyramid_sizes_rejects_empty() -> None:
    with pytest.raises(ValueError, match="positive"):
        pyramid_sizes(0, 8, 2)


def test_wrong_number_of_inputs() -> None:
    config = small(num_scales=3)
    noise = make_noise(1, 16, 16, small(num_scales=2))
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        build(config)(noise)


def test_smallest_accepted_size_generates() -> None:
    config = small(num_scales=3)
    side = min_image_size(3)
    assert side == 5  # coarsest scale ceil(5 / 4) = 2 px: instance norm needs more than 1
    images = sample_textures(build(config).eval(), side, side, [0])
    assert images.shape == (1, 3, side, side)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        sample_textures(build(config).eval(), side - 1, side - 1, [0])


# --- noise and determinism --------------------------------------------------------------------


def test_make_noise_shapes_and_range() -> None:
    config = small(num_scales=4, noise_depth=3)
    noise = make_noise(2, 37, 20, config, seeded_rng(0))
    assert [tuple(n.shape) for n in noise] == [(2, 3, h, w) for h, w in ref_pyramid(37, 20, 4)]
    for scale in noise:
        assert float(scale.min()) >= 0.0 and float(scale.max()) < 1.0
        assert float(scale.std()) > 0.1  # uniform noise, not constant


def test_make_noise_seeded() -> None:
    config = small()
    a = make_noise(1, 16, 16, config, seeded_rng(5))
    b = make_noise(1, 16, 16, config, seeded_rng(5))
    c = make_noise(1, 16, 16, config, seeded_rng(6))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a[0], c[0])


def test_make_noise_leaves_global_rng_alone() -> None:
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    make_noise(1, 16, 16, small(), seeded_rng(9))
    assert torch.equal(torch.rand(2), expected)


def test_same_seed_same_sample() -> None:
    config = small()
    generator = build(config).eval()
    with torch.no_grad():
        a = generator(make_noise(1, 24, 24, config, seeded_rng(1)))
        b = generator(make_noise(1, 24, 24, config, seeded_rng(1)))
        c = generator(make_noise(1, 24, 24, config, seeded_rng(2)))
    assert torch.equal(a, b)
    assert float((a - c).abs().max()) > 1e-4


def test_sample_in_batch_equals_sample_alone() -> None:
    """Instance norm: a sample does not depend on the others in the batch (eval mode)."""
    config = small()
    generator = build(config).eval()
    with torch.no_grad():
        batch = sample_textures(generator, 16, 16, [3, 4])
        alone = sample_textures(generator, 16, 16, [4])
    torch.testing.assert_close(batch[1:], alone)


# --- circular padding: seamless tiles ---------------------------------------------------------


def seam_ratio(tile: Tensor) -> float:
    """Mean |difference| across the wrap-around seam / mean over interior neighbours.

    Tiling the tile 2x2 puts its last column next to its first (and last row next to first
    row); those pairs are compared with the pairs of neighbouring columns/rows inside it.
    """
    tiled = tile.repeat(1, 1, 2, 2)
    height, width = tile.shape[-2:]
    seam = (tiled[..., :, width] - tiled[..., :, width - 1]).abs().mean() + (
        tiled[..., height, :] - tiled[..., height - 1, :]
    ).abs().mean()
    interior = (tile[..., :, 1:] - tile[..., :, :-1]).abs().mean() + (
        tile[..., 1:, :] - tile[..., :-1, :]
    ).abs().mean()
    return float(seam / interior)


def smooth_texture_generator(padding: str) -> Generator:
    """A generator trained for a few Adam steps towards smooth but varying images.

    An untrained generator's output is dominated by the finest (per-pixel) noise, so every
    pair of neighbours differs about equally and a border artefact would not show. The
    objective (TV relative to the variance) makes neighbours similar while keeping contrast.
    """
    config = GeneratorConfig(num_scales=2, channels=8, noise_depth=3, padding=padding)
    generator = build(config, seed=0)
    optimizer = torch.optim.Adam(generator.parameters(), lr=0.02)
    for step in range(20):
        images = generator(make_noise(2, 32, 32, config, seeded_rng(1000 + step)))
        loss = (tv_loss(images) / images.var(dim=(1, 2, 3))).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return generator.eval()


@pytest.fixture(scope="module")
def seam_ratios() -> dict[str, float]:
    ratios = {}
    for padding in ("circular", "zero"):
        generator = smooth_texture_generator(padding)
        with torch.no_grad():
            tiles = generator(make_noise(16, 32, 32, generator.config, seeded_rng(7)))
        assert float(tiles.std()) > 0.05, "output does not vary spatially"
        ratios[padding] = seam_ratio(tiles)
    return ratios


def test_circular_tile_seam_is_smooth(seam_ratios: dict[str, float]) -> None:
    assert seam_ratios["circular"] <= 1.5


def test_zero_padding_tile_seam_is_visible(seam_ratios: dict[str, float]) -> None:
    assert seam_ratios["zero"] > 1.5
    assert seam_ratios["zero"] > seam_ratios["circular"]


def test_seam_ratio_detects_a_seam() -> None:
    """Sanity check of the measure itself: a horizontal ramp has a jump at the wrap."""
    ramp = torch.linspace(0, 1, 16).expand(1, 3, 16, 16)
    assert seam_ratio(ramp) > 5.0
    periodic = torch.cos(torch.arange(16) * (2 * torch.pi / 16)).expand(1, 3, 16, 16) + 1
    assert seam_ratio(periodic) < 1.5


def shift_pyramid(noise: list[Tensor], shift: tuple[int, int]) -> list[Tensor]:
    """Circularly shift the finest input by ``shift`` and scale k by ``shift / 2**k``."""
    return [
        torch.roll(n, (shift[0] // 2**k, shift[1] // 2**k), dims=(-2, -1))
        for k, n in enumerate(noise)
    ]


def test_circular_generator_is_shift_equivariant() -> None:
    """Shifting the noise by a multiple of 2**(K-1) shifts the output: no position is special."""
    config = small(num_scales=3, padding="circular")
    generator = build(config).eval()
    noise = make_noise(1, 16, 24, config, seeded_rng(0))
    with torch.no_grad():
        out = generator(noise)
        shifted = generator(shift_pyramid(noise, (4, 8)))
    torch.testing.assert_close(shifted, torch.roll(out, (4, 8), dims=(-2, -1)))


def test_zero_padding_is_not_shift_equivariant() -> None:
    config = small(num_scales=3, padding="zero")
    generator = build(config).eval()
    noise = make_noise(1, 16, 24, config, seeded_rng(0))
    with torch.no_grad():
        out = generator(noise)
        shifted = generator(shift_pyramid(noise, (4, 8)))
    assert float((shifted - torch.roll(out, (4, 8), dims=(-2, -1))).abs().max()) > 1e-3


@pytest.mark.parametrize("padding", ["zero", "reflect", "circular"])
def test_padding_modes_used(padding: str) -> None:
    generator = build(small(padding=padding))
    mode = {"zero": "zeros", "reflect": "reflect", "circular": "circular"}[padding]
    convs = [m for m in generator.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert convs and all(c.padding_mode == mode for c in convs)


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("norm", "kind"), [("instance", nn.InstanceNorm2d), ("batch", nn.BatchNorm2d)]
)
def test_norms_run(norm: str, kind: type) -> None:
    config = small(norm=norm)
    generator = build(config)
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._NormBase)]
    assert norms and all(type(m) is kind for m in norms)
    noise = make_noise(2, 16, 16, config, seeded_rng(0))
    out = generator.train()(noise)
    out.mean().backward()
    assert all(p.grad is not None for p in generator.parameters())
    with torch.no_grad():
        evaluated = generator.eval()(noise)
    assert evaluated.shape == (2, 3, 16, 16)


# --- config validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_scales": 0}, "num_scales"),
        ({"channels": 0}, "channels"),
        ({"coarse_channels": -1}, "coarse_channels"),
        ({"noise_depth": -1}, "noise_depth"),
        ({"content_channels": -3}, "content_channels"),
        ({"noise_depth": 0, "content_channels": 0}, "noise_depth > 0"),
        ({"norm": "layer"}, "layer"),
        ({"padding": "replicate"}, "replicate"),
    ],
)
def test_config_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(**kwargs)


def test_config_round_trips_through_dict() -> None:
    config = small(norm="batch", padding="reflect", content_channels=3)
    assert GeneratorConfig(**config.to_dict()) == config  # type: ignore[arg-type]
    assert config.input_channels == 5


# --- content-conditioned inputs ---------------------------------------------------------------


def block_mean(image: Tensor, factor: int) -> Tensor:
    b, c, h, w = image.shape
    return image.reshape(b, c, h // factor, factor, w // factor, factor).mean(dim=(3, 5))


def test_make_inputs_concatenates_content_at_each_scale() -> None:
    config = small(num_scales=3, noise_depth=2, content_channels=3)
    content = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    noise = make_noise(1, 16, 16, config, seeded_rng(1))
    inputs = make_inputs(config, noise, content)
    assert len(inputs) == 3
    for k, (inp, scale_noise) in enumerate(zip(inputs, noise, strict=True)):
        side = 16 // 2**k
        assert inp.shape == (1, 5, side, side)
        expected_content = content if k == 0 else block_mean(content, 2**k)
        torch.testing.assert_close(inp[:, :3], expected_content)
        assert torch.equal(inp[:, 3:], scale_noise)
    out = build(config).eval()(inputs)
    assert out.shape == (1, 3, 16, 16)


def test_make_inputs_content_only() -> None:
    config = small(num_scales=2, noise_depth=0, content_channels=3)
    content = torch.rand(1, 3, 8, 8)
    noise = make_noise(1, 8, 8, config)
    inputs = make_inputs(config, noise, content)
    assert [tuple(i.shape) for i in inputs] == [(1, 3, 8, 8), (1, 3, 4, 4)]
    torch.testing.assert_close(inputs[1], block_mean(content, 2))


def test_make_inputs_without_content() -> None:
    config = small()
    noise = make_noise(1, 8, 8, config)
    assert make_inputs(config, noise) is noise
    with pytest.raises(ValueError, match="content"):
        make_inputs(small(content_channels=3), noise)


def test_output_in_unit_interval_even_with_large_weights() -> None:
    config = small()
    generator = build(config).eval()
    with torch.no_grad():
        generator.to_rgb.weight.mul_(1000.0)
        out = generator(make_noise(1, 16, 16, config, seeded_rng(0)))
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert float(out.min()) < 0.01 and float(out.max()) > 0.99  # really pushed to the limits


def test_coarse_channels_widen_only_the_coarser_half_of_the_input_blocks() -> None:
    config = GeneratorConfig(num_scales=5, channels=2, coarse_channels=6)
    generator = config.build()
    widths = [block[0].out_channels for block in generator.input_blocks]  # finest first
    assert widths == [2, 2, 2, 6, 6]  # 5 scales: the 2 coarsest (1/8 and 1/16)
    assert generator.to_rgb.in_channels == sum(widths)
    noise = make_noise(1, 40, 40, config, torch.Generator().manual_seed(0))
    assert generator(noise).shape == (1, 3, 40, 40)
    same = GeneratorConfig(num_scales=5, channels=2).build()
    assert [b[0].out_channels for b in same.input_blocks] == [2] * 5  # 0: as channels
