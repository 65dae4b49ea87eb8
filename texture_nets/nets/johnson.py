"""Johnson et al.'s image transformation network (Perceptual Losses, ECCV 2016, supp. Table 1).

9x9 conv (32) -> two 3x3 stride-2 convs (64, 128) -> N residual blocks (128) -> two
upsampling stages -> 9x9 conv to RGB. ``downsamples`` sets the number of stride-2 stages (each
doubles the channels; one more doubles the receptive field, at the same cost per pixel in the
residual blocks).
Following Ulyanov et al.'s instance normalisation (2016) and Odena et al.'s "Deconvolution and
Checkerboard Artifacts" (2016), normalisation is instance norm and upsampling is
nearest-neighbour x2 followed by a 3x3 conv (no transposed convs). Every convolution
reflect-pads its input. A sigmoid keeps the output in [0, 1] (the input is [0, 1]).

Any input size works: the input is reflect-padded to a multiple of the total stride (4 by
default) and the output cropped back to the input's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import ClassVar, cast

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from texture_nets.nets.ulyanov import norm_layer

JOHNSON_NORMS = ("instance", "batch")
_SKIP_EPS = 1e-3  # photo_skip clamps the photo to [eps, 1 - eps] (a black pixel stays black)


@dataclass(frozen=True)
class JohnsonConfig:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    channels: int = 32
    residual_blocks: int = 5
    downsamples: int = 2  # stride-2 stages (Johnson's two)
    norm: str = "instance"
    photo_skip: bool = False  # paint on the photo: output = sigmoid(logit(photo) + change)

    architecture: ClassVar[str] = "johnson"  # the name checkpoints store
    takes_noise: ClassVar[bool] = False  # the content photo is its only input
    takes_photo: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.channels < 1:
            raise ValueError(f"channels must be >= 1, got {self.channels}")
        if self.residual_blocks < 0:
            raise ValueError(f"residual_blocks must be >= 0, got {self.residual_blocks}")
        if not 2 <= self.downsamples <= 4:
            raise ValueError(f"downsamples must be in 2..4, got {self.downsamples}")
        if self.norm not in JOHNSON_NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; choose one of {JOHNSON_NORMS}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def stride(self) -> int:
        """The total stride: inputs are padded to a multiple of it."""
        return int(2**self.downsamples)

    @property
    def min_side(self) -> int:
        """The smallest image side the network can process: the deepest maps keep at least
        2x2 pixels (instance norm, reflect pad)."""
        return 2 * self.stride

    def noise(
        self,
        batch: int,
        height: int,
        width: int,
        rng: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """No noise: the network is a deterministic function of the photo."""
        return None

    def build(self) -> JohnsonNet:
        return JohnsonNet(self)

    def run(
        self, network: Callable[..., Tensor], content: Tensor | None, noise: object = None
    ) -> Tensor:
        """Feed a network of this config: the photo only."""
        if content is None:
            raise ValueError("the johnson network needs a content image")
        return network(content)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, padding_mode="reflect")


def _conv_norm_relu(cin: int, cout: int, kernel: int, norm: str, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        _conv(cin, cout, kernel, stride), norm_layer(norm, cout), nn.ReLU(inplace=True)
    )


class ResidualBlock(nn.Module):
    """conv-norm-ReLU-conv-norm, added to the input (no ReLU after the sum, as in Johnson's)."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_norm_relu(channels, channels, 3, norm),
            _conv(channels, channels, 3),
            norm_layer(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class Upsample(nn.Sequential):
    """Nearest-neighbour x2, then conv-norm-ReLU (avoids transposed-conv checkerboards)."""

    def __init__(self, cin: int, cout: int, norm: str) -> None:
        super().__init__(
            nn.Upsample(scale_factor=2.0, mode="nearest"), *_conv_norm_relu(cin, cout, 3, norm)
        )


class JohnsonNet(nn.Module):
    """Photo (B, 3, H, W) in [0, 1] -> stylized image of the same size in [0, 1].

    The class states the facts that sampling needs, as ``Generator`` does; ``bands.py`` runs
    it layer by layer for images.
    """

    takes_noise: ClassVar[bool] = False
    stochastic = False  # no noise: one output per photo

    def __init__(self, config: JohnsonConfig) -> None:
        super().__init__()
        self.config = config
        norm, stages = config.norm, range(config.downsamples)
        widths = [config.channels * 2**k for k in range(config.downsamples + 1)]
        self.encoder = nn.Sequential(
            _conv_norm_relu(3, widths[0], 9, norm),
            *(_conv_norm_relu(widths[k], widths[k + 1], 3, norm, stride=2) for k in stages),
        )
        self.residuals = nn.Sequential(
            *(ResidualBlock(widths[-1], norm) for _ in range(config.residual_blocks))
        )
        self.decoder = nn.Sequential(
            *(Upsample(widths[k + 1], widths[k], norm) for k in reversed(stages))
        )
        self.to_rgb = _conv(widths[0], 3, 9)
        if config.photo_skip:  # the untrained network returns the photo, as Gatys starts
            nn.init.zeros_(self.to_rgb.weight)
            nn.init.zeros_(cast(Tensor, self.to_rgb.bias))

    def forward(self, content: Tensor) -> Tensor:
        height, width = content.shape[-2:]
        if min(height, width) < self.min_side:
            raise ValueError(
                f"input {width}x{height} is too small: at least {self.min_side} px a side"
            )
        return self.transform(pad_to_multiple(content, self.config.stride))[..., :height, :width]

    def transform(self, content: Tensor) -> Tensor:
        """The network proper, on sides that are multiples of the stride."""
        x = self.decoder(self.residuals(self.encoder(content)))
        change = self.to_rgb(x)
        if self.config.photo_skip:
            change = change + photo_logit(content).to(change.dtype)
        return torch.sigmoid(change)

    @property
    def min_side(self) -> int:
        return self.config.min_side

    def run(self, content: Tensor | None, noise: list[Tensor] | None = None) -> Tensor:
        """One forward pass on the photo (``noise`` is ignored: the network takes none)."""
        return self.config.run(self, content, noise)


def photo_logit(content: Tensor) -> Tensor:
    """The photo in logit space, where ``photo_skip`` adds the network's change (written with
    log ops, which every ONNX runtime has)."""
    x = content.float().clamp(_SKIP_EPS, 1 - _SKIP_EPS)
    return torch.log(x) - torch.log1p(-x)


def pad_to_multiple(images: Tensor, multiple: int) -> Tensor:
    """Reflect-pad bottom and right so that both sides are multiples of ``multiple`` (always
    through ``F.pad``, also by 0 rows: an ONNX trace then keeps the padding for every size)."""
    height, width = images.shape[-2:]
    pad_w = (multiple - width % multiple) % multiple
    pad_h = (multiple - height % multiple) % multiple
    return F.pad(images, (0, pad_w, 0, pad_h), mode="reflect")
