"""Portilla & Simoncelli (2000)'s texture synthesis, the parametric baseline, through plenoptic.

Why here: the texture-network paper sets its results beside Portilla-Simoncelli's, the model
of hand-made wavelet statistics the Gram-based methods replaced. The statistics and the
metamer optimisation are plenoptic's (``plenoptic.models.PortillaSimoncelli``,
``plenoptic.Metamer``), with the settings its ``PortillaSimoncelli`` docstring documents:
4 scales, 4 orientations, ``spatial_corr_width`` 7, the loss of
``plenoptic.loss.portilla_simoncelli_loss_factory`` (min/max left out, the highpass variance
weighted up), pixels kept in range by ``Metamer``'s default penalty, and L-BFGS (lr 1,
history 100, strong-Wolfe line search, up to 10 evaluations per ``synthesize`` iteration).
Needs the ``[ps]`` extra (``pip install 'texture-nets[ps]'``).

Colour: plenoptic's PS model is grayscale. The example's RGB pixels are rotated into their
principal components (decorrelated), each component is mapped to [0, 1] by its range in the
example, and the three components are synthesised as three independent grayscale textures
(plenoptic analyses channels separately); the result is rotated back. The colour covariance at
zero lag is therefore kept; colour correlations at other lags, which PS's colour extension
would add, are not.

Sizes: PS statistics are spatial averages, so an output of any size can match those of the
example. The target statistics come from the example (cropped to a multiple of
``2 ** n_scales``) and the image is optimised at the asked size rounded up to such a multiple,
then cropped (the pyramid is periodic, so a crop is a piece of a seamless texture). Images too
small for 4 scales (each scale's autocorrelation window needs ``spatial_corr_width`` pixels)
use fewer.
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from texture_nets.errors import UserError

__all__ = ["PSResult", "ps_statistics", "require_plenoptic", "synthesize"]

N_SCALES = 4  # plenoptic's defaults for PortillaSimoncelli
N_ORIENTATIONS = 4
SPATIAL_CORR_WIDTH = 7
LBFGS_OPTIONS = {  # the optimiser settings of plenoptic's PortillaSimoncelli docstring
    "max_iter": 10,
    "max_eval": 10,
    "history_size": 100,
    "line_search_fn": "strong_wolfe",
    "lr": 1,
}
DEFAULT_STEPS = 100  # Metamer.synthesize iterations (each up to 10 L-BFGS evaluations)


def require_plenoptic() -> Any:
    """The ``plenoptic`` module, or a one-line ``UserError`` naming the extra."""
    try:
        return importlib.import_module("plenoptic")
    except ImportError as error:
        raise UserError(
            "Portilla-Simoncelli needs plenoptic: pip install 'texture-nets[ps]'"
        ) from error


@dataclass
class PSResult:
    """The synthesised image (1, 3, H, W) in [0, 1], the noise it started from (in RGB) and
    plenoptic's loss per iteration."""

    image: Tensor
    initial: Tensor
    losses: list[float]
    n_scales: int


class _AnySize(nn.Module):
    """PS statistics of an image of any (valid) size: one plenoptic model per shape, since
    its steerable pyramid is built for one shape, while the statistics are size-free."""

    def __init__(self, n_scales: int) -> None:
        super().__init__()
        self.n_scales = n_scales
        self.models: dict[tuple[int, int], nn.Module] = {}
        self.eval()

    def model(self, shape: tuple[int, int], device: torch.device) -> nn.Module:
        if shape not in self.models:
            plenoptic = require_plenoptic()
            self.models[shape] = (
                plenoptic.models.PortillaSimoncelli(
                    shape, self.n_scales, N_ORIENTATIONS, SPATIAL_CORR_WIDTH
                )
                .to(device)
                .eval()
            )
        return self.models[shape]

    def forward(self, image: Tensor) -> Tensor:
        return self.model((image.shape[-2], image.shape[-1]), image.device)(image)


def _fits(side: int, scales: int) -> bool:
    return side // 2**scales >= SPATIAL_CORR_WIDTH


def n_scales_for(*sides: int) -> int:
    """Plenoptic's 4 scales where every side allows them, else the most that fit."""
    for scales in range(N_SCALES, 0, -1):
        if all(_fits(side, scales) for side in sides):
            return scales
    smallest = SPATIAL_CORR_WIDTH * 2
    raise UserError(f"Portilla-Simoncelli needs images of at least {smallest} px per side")


class _Decorrelate:
    """The example's colour PCA: RGB -> three uncorrelated components in [0, 1] and back."""

    def __init__(self, example: Tensor) -> None:
        pixels = example.reshape(3, -1).double()
        self.mean = pixels.mean(dim=1, keepdim=True)
        covariance = torch.cov(pixels)
        _, self.basis = torch.linalg.eigh(covariance)  # columns: principal directions
        components = self.basis.T @ (pixels - self.mean)
        self.low = components.min(dim=1, keepdim=True).values
        self.span = (components.max(dim=1, keepdim=True).values - self.low).clamp_min(1e-6)

    def forward(self, image: Tensor) -> Tensor:
        height, width = image.shape[-2:]
        components = self.basis.T @ (image.reshape(3, -1).double() - self.mean)
        return ((components - self.low) / self.span).float().reshape(1, 3, height, width)

    def inverse(self, image: Tensor) -> Tensor:
        height, width = image.shape[-2:]
        components = image.reshape(3, -1).double() * self.span + self.low
        pixels = self.basis @ components + self.mean
        return pixels.float().reshape(1, 3, height, width).clamp(0, 1)


def _crop_to_multiple(image: Tensor, step: int) -> Tensor:
    height, width = (side // step * step for side in image.shape[-2:])
    return image[..., :height, :width]


def ps_statistics(image: Tensor, example: Tensor, n_scales: int = N_SCALES) -> Tensor:
    """PS statistics (plenoptic's representation) of ``image`` (1, 3, H, W) in the
    decorrelated colour space of ``example``: what ``synthesize`` matches."""
    decorrelated = _crop_to_multiple(_Decorrelate(example).forward(image), 2**n_scales)
    with torch.no_grad():
        return _AnySize(n_scales)(decorrelated)


def synthesize(
    example: Tensor,
    size: tuple[int, int],
    steps: int = DEFAULT_STEPS,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> PSResult:
    """A new texture of ``size`` (height, width) with the example's PS statistics.

    ``example`` (1, 3, H, W) or (3, H, W) in [0, 1]; ``steps``: ``Metamer.synthesize``
    iterations (plenoptic's convergence check may stop it earlier); ``seed``: the initial
    noise (uniform in [0, 1], ``Metamer``'s default initialisation, drawn on the CPU);
    ``device``: where the statistics and the optimisation run.
    """
    plenoptic = require_plenoptic()
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    device = torch.device(device)
    example = example.detach().float().cpu()
    example = example[None] if example.dim() == 3 else example
    height, width = size
    scales = n_scales_for(height, width, *example.shape[-2:])
    step = 2**scales
    colour = _Decorrelate(example)
    target = _crop_to_multiple(colour.forward(example), step).to(device)
    model = _AnySize(scales)
    loss = plenoptic.loss.portilla_simoncelli_loss_factory(
        model.model((target.shape[-2], target.shape[-1]), device), target
    )
    shape = (math.ceil(height / step) * step, math.ceil(width / step) * step)
    rng = torch.Generator().manual_seed(seed)
    init = torch.rand(1, 3, *shape, generator=rng).to(device)
    metamer = plenoptic.Metamer(target, model, loss_function=loss)
    with warnings.catch_warnings():
        # "initial_image and image are different sizes": intended, the statistics are
        # size-free (see the module docstring); and plenoptic's "Loss has converged".
        warnings.simplefilter("ignore", UserWarning)
        metamer.setup(init, optimizer=torch.optim.LBFGS, optimizer_kwargs=dict(LBFGS_OPTIONS))
        metamer.synthesize(max_iter=steps)  # a tqdm bar on stderr, like Gatys' bar
    image = metamer.metamer.detach().cpu()[..., :height, :width]
    losses = [float(value) for value in metamer.losses]
    start = colour.inverse(init.cpu()[..., :height, :width])
    return PSResult(colour.inverse(image), start, losses, scales)
