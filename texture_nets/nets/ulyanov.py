"""Ulyanov et al.'s multiscale generator (Texture Networks, 2016, Fig. 2).

K inputs at scales 1, 1/2, ..., 1/2^(K-1) (noise, optionally concatenated with the content
image at that scale). The coarsest input goes through a conv block; then, from coarse to fine,
the running result is upsampled (nearest) and joined with the conv block of the next finer
input: both are normalised and concatenated, and a conv block processes the join. A final 1x1
convolution maps to RGB, and a sigmoid keeps the image in [0, 1].

Conv block: 3x3, 3x3, 1x1 convolutions, each followed by normalisation and LeakyReLU.
Normalisation is batch norm (the 2016 paper) or instance norm (Improved Texture Networks 2017,
the default). With ``padding="circular"`` every convolution wraps around, so a generated image
tiles seamlessly (for sizes divisible by 2^(K-1), see ``pyramid_sizes``).

The generator is a deterministic function of its inputs: all randomness comes from
``make_noise``, which takes an explicit ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

NORMS = ("instance", "batch")
_PADDING_MODES: dict[str, Literal["zeros", "reflect", "circular"]] = {
    "zero": "zeros",
    "reflect": "reflect",
    "circular": "circular",
}
PADDINGS = ("zero", "reflect", "circular")


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild a generator (stored in every checkpoint)."""

    num_scales: int = 6
    channels: int = 8
    coarse_channels: int = 0  # of the coarser half of the input blocks (0: ``channels``)
    noise_depth: int = 3
    content_channels: int = 0
    norm: str = "instance"
    padding: str = "circular"
    leaky_slope: float = 0.01

    architecture: ClassVar[str] = "ulyanov"  # the name checkpoints store
    takes_noise: ClassVar[bool] = True  # a noise pyramid is an input (even with noise_depth 0)

    def __post_init__(self) -> None:
        if self.num_scales < 1:
            raise ValueError(f"num_scales must be >= 1, got {self.num_scales}")
        if self.channels < 1:
            raise ValueError(f"channels must be >= 1, got {self.channels}")
        if self.coarse_channels < 0:
            raise ValueError(f"coarse_channels must be >= 0, got {self.coarse_channels}")
        if self.noise_depth < 0 or self.content_channels < 0:
            raise ValueError("noise_depth and content_channels must be >= 0")
        if self.noise_depth + self.content_channels == 0:
            raise ValueError("the generator needs noise_depth > 0 or a content image")
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; choose one of {NORMS}")
        if self.padding not in PADDINGS:
            raise ValueError(f"unknown padding {self.padding!r}; choose one of {PADDINGS}")

    @property
    def takes_photo(self) -> bool:
        """Whether a photo is an input (a stylizer)."""
        return self.content_channels > 0

    @property
    def input_channels(self) -> int:
        return self.noise_depth + self.content_channels

    @property
    def min_side(self) -> int:
        """The smallest image side the generator can process."""
        return min_image_size(self.num_scales)

    def scale_channels(self, scale: int) -> int:
        """Channels of the input block of ``scale`` (0: finest). The coarser half of the scales
        (with 6 scales: 1/8 to 1/32 of the image) has small maps, where more channels cost few
        FLOPs; their outputs are concatenated up to the finest join, where they do cost."""
        coarse = scale >= self.num_scales - self.num_scales // 2
        return self.coarse_channels if coarse and self.coarse_channels else self.channels

    def noise(
        self,
        batch: int,
        height: int,
        width: int,
        rng: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> list[Tensor]:
        """The noise pyramid of ``batch`` images (``make_noise``)."""
        return make_noise(batch, height, width, self, rng, device)

    def build(self) -> Generator:
        return Generator(self)

    def run(
        self, network: Callable[..., Tensor], content: Tensor | None, noise: list[Tensor] | None
    ) -> Tensor:
        """Feed a network of this config: the noise pyramid (+ the content image)."""
        return network(self.inputs(content, noise))

    def inputs(self, content: Tensor | None, noise: list[Tensor] | None) -> list[Tensor]:
        """The input pyramid of a network of this config (``make_inputs``)."""
        if noise is None:
            raise ValueError("the ulyanov generator needs a noise pyramid")
        return make_inputs(self, noise, content)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Instance norm (affine, Improved Texture Networks) or batch norm."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.BatchNorm2d(channels)


def _conv(cin: int, cout: int, kernel: int, padding: str) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, padding=kernel // 2, padding_mode=_PADDING_MODES[padding])


class ConvBlock(nn.Sequential):
    """3x3 -> 3x3 -> 1x1 convolutions, each followed by normalisation and LeakyReLU."""

    def __init__(self, cin: int, cout: int, config: GeneratorConfig) -> None:
        layers: list[nn.Module] = []
        for kernel, channels_in in ((3, cin), (3, cout), (1, cout)):
            layers += [
                _conv(channels_in, cout, kernel, config.padding),
                norm_layer(config.norm, cout),
                nn.LeakyReLU(config.leaky_slope, inplace=True),
            ]
        super().__init__(*layers)


class JoinBlock(nn.Module):
    """Upsample the coarse branch (nearest, x2, cropped to the fine size), normalise, concat."""

    def __init__(self, coarse_channels: int, fine_channels: int, norm: str) -> None:
        super().__init__()
        self.norm_coarse = norm_layer(norm, coarse_channels)
        self.norm_fine = norm_layer(norm, fine_channels)

    def forward(self, coarse: Tensor, fine: Tensor) -> Tensor:
        up = F.interpolate(coarse, scale_factor=2.0, mode="nearest")
        up = up[..., : fine.shape[-2], : fine.shape[-1]]
        return torch.cat([self.norm_coarse(up), self.norm_fine(fine)], dim=1)


class Generator(nn.Module):
    """Multiscale generator; ``forward`` takes the input pyramid, finest scale first.

    Besides the layers, the class states the facts that sampling needs (``takes_noise``,
    ``stochastic``, ``min_side``, ``run``); ``bands.py`` runs it layer by layer for images.
    """

    takes_noise: ClassVar[bool] = True

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        cin = config.input_channels
        channels = [config.scale_channels(k) for k in range(config.num_scales)]
        self.input_blocks = nn.ModuleList(ConvBlock(cin, c, config) for c in channels)
        self.joins = nn.ModuleList()
        self.join_blocks = nn.ModuleList()
        width = channels[-1]
        for k in range(config.num_scales - 2, -1, -1):  # coarse to fine, as ``forward`` joins
            self.joins.append(JoinBlock(width, channels[k], config.norm))
            self.join_blocks.append(ConvBlock(width + channels[k], width + channels[k], config))
            width += channels[k]
        self.to_rgb = nn.Conv2d(width, 3, kernel_size=1)

    def forward(self, inputs: list[Tensor]) -> Tensor:
        """``inputs[k]``: (B, input_channels, ceil(H/2^k), ceil(W/2^k)); returns (B, 3, H, W)."""
        if len(inputs) != self.config.num_scales:
            raise ValueError(f"expected {self.config.num_scales} inputs, got {len(inputs)}")
        x = self.input_blocks[-1](inputs[-1])
        for k in range(self.config.num_scales - 2, -1, -1):  # coarse to fine
            fine = self.input_blocks[k](inputs[k])
            join_index = self.config.num_scales - 2 - k
            x = self.join_blocks[join_index](self.joins[join_index](x, fine))
        return torch.sigmoid(self.to_rgb(x))

    # -- facts for sampling ------------------------------------------------------------------
    @property
    def stochastic(self) -> bool:
        """Whether different noise seeds give different outputs (noise channels exist)."""
        return self.config.noise_depth > 0

    @property
    def min_side(self) -> int:
        return self.config.min_side

    def run(self, content: Tensor | None, noise: list[Tensor] | None) -> Tensor:
        """One forward pass on the noise pyramid (+ the content image, when conditioned)."""
        return self.config.run(self, content, noise)


def pyramid_sizes(height: int, width: int, num_scales: int) -> list[tuple[int, int]]:
    """Input sizes per scale, finest first: (ceil(H/2^k), ceil(W/2^k)).

    Upsampling a coarse map doubles it and the join crops the extra row/column, so any size
    works (every level pads at its own size). For seamless tiling with circular padding, use
    sizes divisible by 2^(num_scales-1).
    """
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    return [(math.ceil(height / 2**k), math.ceil(width / 2**k)) for k in range(num_scales)]


def min_image_size(num_scales: int) -> int:
    """Smallest side for which the coarsest scale still has 2 pixels (normalisation needs 2)."""
    return 2 ** (num_scales - 1) + 1


def make_noise(
    batch: int,
    height: int,
    width: int,
    config: GeneratorConfig,
    rng: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> list[Tensor]:
    """Uniform [0, 1) noise pyramid (Ulyanov et al.), drawn on the CPU for reproducibility."""
    return [
        torch.rand(batch, config.noise_depth, h, w, generator=rng).to(device)
        for h, w in pyramid_sizes(height, width, config.num_scales)
    ]


def make_inputs(
    config: GeneratorConfig,
    noise: list[Tensor],
    content: Tensor | None = None,
) -> list[Tensor]:
    """Concatenate the content image, downsampled to every scale, with the noise pyramid."""
    if content is None:
        if config.content_channels:
            raise ValueError("this generator is content-conditioned: pass a content image")
        return noise
    inputs = []
    for k, scale_noise in enumerate(noise):
        size = scale_noise.shape[-2:]
        scaled = content if k == 0 else F.interpolate(content, size=size, mode="area")
        inputs.append(torch.cat([scaled, scale_noise], dim=1) if config.noise_depth else scaled)
    return inputs


def seeded_rng(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (noise is drawn on the CPU everywhere)."""
    return torch.Generator().manual_seed(seed)


seeded_generator = seeded_rng  # the old name, for code written before the rename
