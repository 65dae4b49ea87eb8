"""A texture GAN trained on the one example: the learned baseline beside the texture network.

Spatial GAN (Jetchev, Bergmann & Vollgraf 2016, "Texture Synthesis with Spatial Generative
Adversarial Networks"): a fully convolutional DCGAN (Radford et al. 2015) whose generator maps
a spatial noise tensor (``noise_channels`` x h x w, uniform in [-1, 1]) to an image
``2 ** layers`` times larger, and whose discriminator maps an image to a field of real/fake
logits, one per receptive field; both are trained on random crops of the example. Being fully
convolutional, the generator then makes textures of any size from noise, as the texture
network does, so the two answer the same question: what does a network trained under the same
CPU budget on one example make? Why a GAN: it learns the texture without a fixed descriptor
(no VGG, no Gram matrices), which is the other family of single-example generators.

DCGAN's choices are kept (5x5 kernels, stride 2, batch norm, ReLU / LeakyReLU 0.2, tanh
output, Adam lr 2e-4, beta1 0.5, non-saturating loss); the widths and the crop are smaller
than SGAN's (its 64-filter, 5-layer nets on 64x64 noise ran on a GPU) so that a CPU budget of
minutes trains hundreds of steps. After training, the generator's batch-norm statistics are
re-estimated over fresh noise (their running averages lag the last updates), and generation
uses them (eval mode): the output does not depend on the other images of a batch.

Pure torch (no extra). ``train`` stops at the first of ``minutes`` (wall clock, checked
between steps: on an otherwise idle machine, CPU minutes, like the network's ``--max-time``)
and ``max_steps``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["GANConfig", "GANResult", "SpatialGenerator", "sample", "train"]

RECALIBRATION_BATCHES = 8  # fresh-noise batches that re-estimate the batch-norm statistics


@dataclass(frozen=True)
class GANConfig:
    """The two networks and their training (DCGAN's optimiser, CPU-sized nets)."""

    noise_channels: int = 32
    layers: int = 4  # upsampling (generator) / downsampling (discriminator) stages
    width: int = 32  # channels of the discriminator's first layer; doubled per stage
    crop: int = 64  # training crop side (noise crop / 2 ** layers)
    batch_size: int = 8
    lr: float = 2e-4
    beta1: float = 0.5

    @property
    def factor(self) -> int:
        return int(2**self.layers)

    def widths(self) -> list[int]:
        """Hidden channels from the image side inwards: width, 2 * width, ..."""
        return [self.width * 2**i for i in range(self.layers - 1)]


class SpatialGenerator(nn.Module):
    """Spatial noise (B, noise_channels, h, w) -> image (B, 3, h * 2**layers, w * 2**layers)
    in [0, 1]: transposed convolutions that each double the size exactly."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        channels = [config.noise_channels, *reversed(config.widths()), 3]
        blocks: list[nn.Module] = []
        for index, (inputs, outputs) in enumerate(itertools.pairwise(channels)):
            last = index == len(channels) - 2
            blocks.append(nn.ConvTranspose2d(inputs, outputs, 5, 2, 2, 1, bias=last))
            if not last:
                blocks += [nn.BatchNorm2d(outputs), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*blocks)

    def forward(self, noise: Tensor) -> Tensor:
        return (torch.tanh(self.body(noise)) + 1) / 2


class SpatialDiscriminator(nn.Module):
    """Image (B, 3, H, W) -> a field of logits (B, 1, H / 2**layers, W / 2**layers)."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        channels = [3, *config.widths(), 1]
        blocks: list[nn.Module] = []
        for index, (inputs, outputs) in enumerate(itertools.pairwise(channels)):
            last = index == len(channels) - 2
            blocks.append(nn.Conv2d(inputs, outputs, 5, 2, 2, bias=index == 0 or last))
            if not last:
                if index > 0:  # DCGAN: no batch norm on the discriminator's input layer
                    blocks.append(nn.BatchNorm2d(outputs))
                blocks.append(nn.LeakyReLU(0.2, inplace=True))
        self.body = nn.Sequential(*blocks)

    def forward(self, image: Tensor) -> Tensor:
        return self.body(image * 2 - 1)


@dataclass
class GANResult:
    """The trained generator (eval mode) and how its training went."""

    generator: SpatialGenerator
    steps: int
    seconds: float
    losses: dict[str, list[float]] = field(default_factory=dict)  # "generator", "discriminator"


def noise(config: GANConfig, height: int, width: int, batch: int, seed: int) -> Tensor:
    """Seeded spatial noise, uniform in [-1, 1], enough for an image of at least
    ``height`` x ``width``."""
    rng = torch.Generator().manual_seed(seed)
    h, w = math.ceil(height / config.factor), math.ceil(width / config.factor)
    return torch.rand(batch, config.noise_channels, h, w, generator=rng) * 2 - 1


def _crops(example: Tensor, side: int, batch: int, rng: torch.Generator) -> Tensor:
    height, width = example.shape[-2:]
    tops = torch.randint(0, height - side + 1, (batch,), generator=rng).tolist()
    lefts = torch.randint(0, width - side + 1, (batch,), generator=rng).tolist()
    return torch.cat(
        [example[..., t : t + side, x : x + side] for t, x in zip(tops, lefts, strict=True)]
    )


def train(
    example: Tensor,
    minutes: float,
    config: GANConfig | None = None,
    *,
    seed: int = 0,
    max_steps: int | None = None,
    device: torch.device | str = "cpu",
) -> GANResult:
    """Train a Spatial GAN on random crops of ``example`` ((1, 3, H, W) or (3, H, W) in
    [0, 1]) until ``minutes`` of wall time or ``max_steps`` steps have passed (at least one
    step). The crop is ``config.crop``, or the largest multiple of ``2 ** layers`` that fits."""
    config = config or GANConfig()
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    device = torch.device(device)
    example = example.detach().float()
    example = (example[None] if example.dim() == 3 else example).to(device)
    side = min(config.crop, min(example.shape[-2:]) // config.factor * config.factor)
    if side < config.factor:
        raise ValueError(f"the example must be at least {config.factor} px per side")
    torch.manual_seed(seed)  # the networks' initial weights
    rng = torch.Generator().manual_seed(seed)
    generator, discriminator = SpatialGenerator(config).to(device), SpatialDiscriminator(config)
    discriminator = discriminator.to(device)
    betas = (config.beta1, 0.999)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=betas)
    losses: dict[str, list[float]] = {"generator": [], "discriminator": []}
    start, steps = time.perf_counter(), 0
    while steps == 0 or (
        time.perf_counter() - start < 60 * minutes and (max_steps is None or steps < max_steps)
    ):
        real = _crops(example, side, config.batch_size, rng)
        z = noise(
            config,
            side,
            side,
            config.batch_size,
            seed=int(torch.randint(2**62, (1,), generator=rng)),
        )
        fake = generator(z.to(device))
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        d_loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        logits = discriminator(fake)
        g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        losses["discriminator"].append(float(d_loss.detach()))
        losses["generator"].append(float(g_loss.detach()))
        steps += 1
    _recalibrate(generator, config, side, seed, device)
    return GANResult(generator.eval(), steps, time.perf_counter() - start, losses)


def _recalibrate(
    generator: SpatialGenerator, config: GANConfig, side: int, seed: int, device: torch.device
) -> None:
    """Batch-norm statistics as the cumulative average over fresh noise batches."""
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average
    generator.train()
    with torch.no_grad():
        for batch in range(RECALIBRATION_BATCHES):
            z = noise(config, side, side, config.batch_size, seed=seed * 7919 + batch + 1)
            generator(z.to(device))
    generator.eval()


def sample(generator: SpatialGenerator, size: tuple[int, int], seed: int) -> Tensor:
    """One texture (1, 3, H, W) of ``size`` (height, width) from seeded noise: the noise for
    the next multiple of ``2 ** layers``, the image cropped."""
    height, width = size
    device = next(generator.parameters()).device
    z = noise(generator.config, height, width, 1, seed).to(device)
    with torch.no_grad():
        return generator.eval()(z)[..., :height, :width]
